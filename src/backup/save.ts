/**
 * `raft-ipam snapshot save FILE`: stream GET /v1/snapshot from the leader into FILE. The bytes go to a
 * temp file beside FILE (atomic-file.ts); once the download is complete the temp file is read back and
 * checked like any snapshot file (header CRC, payload SHA-256, the whole IPAM state) and against the
 * response headers, and only then renamed over FILE. A download cut short, stalled or damaged leaves FILE
 * as it was and nothing beside it.
 */
import type { IpamClient, SnapshotDownload } from '../api/client.js';
import { AtomicFile } from './atomic-file.js';
import { BackupError } from './errors.js';
import { summarize, type SnapshotSummary } from './inspect.js';
import { readSnapshotFile } from './snapshot-file.js';

export interface SaveProgress {
  received: number;
  /** Length of the whole file, from the response. */
  total: number;
}

export interface SaveOptions {
  client: IpamClient;
  file: string;
  /** Called after every piece written. */
  onProgress?: (p: SaveProgress) => void;
  /** Give up when no byte arrives for this long (default 30 000 ms). */
  stallTimeoutMs?: number;
}

export interface SaveResult extends SnapshotSummary {
  file: string;
  /** The node that served it (the leader). */
  endpoint: string;
}

export async function saveSnapshot(options: SaveOptions): Promise<SaveResult> {
  const stallMs = options.stallTimeoutMs ?? 30_000;
  if (!(Number.isInteger(stallMs) && stallMs >= 1)) throw new BackupError('InvalidArgument', `stallTimeoutMs must be a positive integer, got ${String(stallMs)}`);
  // Refuse a bad target (a directory, an unwritable folder) before asking the cluster for anything.
  const out = await AtomicFile.create(options.file);
  let download: SnapshotDownload | undefined;
  try {
    download = await options.client.snapshot();
    const received = await copyBody(download, out, stallMs, options.onProgress);
    if (received !== download.bytes) throw new BackupError('SnapshotFileTruncated', `the download ended after ${received} of ${download.bytes} bytes`);
    const checked = await readSnapshotFile(out.tempPath).catch((e: unknown) => {
      // Named after where it came from, not after the temp file that is about to go.
      const inner = e instanceof BackupError && e.cause instanceof BackupError ? e.cause : e;
      throw inner instanceof BackupError ? new BackupError(inner.code, `the snapshot downloaded from ${download?.endpoint}: ${inner.message}`, { cause: e }) : inner;
    });
    const m = checked.meta;
    // The file checks itself; the headers are a second, independent copy of what the server meant to send.
    if (m.index !== download.index || m.term !== download.term || m.clusterId !== download.clusterId || m.stateHash !== download.stateHash) {
      throw new BackupError('SnapshotFileCorrupt', `the file holds index ${m.index} term ${m.term} of ${m.clusterId} (state ${m.stateHash.slice(0, 12)}…), the response headers said index ${download.index} term ${download.term} of ${download.clusterId} (state ${download.stateHash.slice(0, 12)}…)`);
    }
    await out.commit();
    return { file: options.file, endpoint: download.endpoint, ...summarize(m, received, checked.state) };
  } catch (e) {
    download?.abort();
    await out.discard();
    throw e;
  }
}

async function copyBody(d: SnapshotDownload, out: AtomicFile, stallMs: number, onProgress: SaveOptions['onProgress']): Promise<number> {
  const reader = d.body.getReader();
  let received = 0;
  let stalled = false;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      d.abort(new Error(`no data for ${stallMs} ms`));
    }, stallMs);
  };
  try {
    arm();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (stalled) throw new BackupError('SnapshotFileIo', `the download from ${d.endpoint} stalled: no data for ${stallMs} ms after ${received} of ${d.bytes} bytes`, { cause: e });
        throw new BackupError('SnapshotFileTruncated', `the download from ${d.endpoint} broke off after ${received} of ${d.bytes} bytes: ${(e as Error).message}`, { cause: e });
      }
      if (chunk.done) return received;
      arm();
      received += chunk.value.length;
      // More than announced: stop before writing it (a server defect or something in between).
      if (received > d.bytes) throw new BackupError('SnapshotFileCorrupt', `the download sent more than the ${d.bytes} bytes it announced`);
      await out.write(chunk.value);
      onProgress?.({ received, total: d.bytes });
    }
  } finally {
    clearTimeout(watchdog);
    reader.releaseLock();
  }
}
