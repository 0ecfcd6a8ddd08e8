/**
 * `raft-ipam snapshot restore FILE --data-dir DIR --name N --initial-cluster n1=…,n2=…`: build the data
 * directory of one member of a NEW cluster from a saved snapshot, as `etcdctl snapshot restore` does. Run
 * it once per member with the same file and the same --initial-cluster, then start every member with
 * `raft-ipam serve` on its directory (same --initial-cluster, the new --cluster-id; --initial-cluster-state
 * new or existing both work: a store that holds a snapshot boots from it and ignores the founding list).
 *
 * What the directory holds: a LevelDB store written by the real LevelStorage (so it passes every check a
 * node makes at start), with one Raft snapshot at the file's index and term whose membership is the
 * --initial-cluster members as voters and whose data is the node snapshot a running member would write
 * (ClusterApp: the members' peer addresses from --initial-cluster, then the IPAM state byte for byte), and
 * the hard state {term, no vote, commit = index}. Every input is the same for every member, so the
 * snapshot files of all members are identical; only the store's identity record names the member.
 *
 * Cluster id: the restored cluster gets a NEW one (--cluster-id, or by default "restored-" + 12 hex digits
 * derived from the file and the --initial-cluster, so every member computes the same). Keeping the old id
 * is refused: the transport drops frames from another cluster id, and that is the only thing that keeps
 * a still-running member of the old cluster, with the same node name and a reachable address, from
 * joining the new cluster's elections with its higher term and overwriting restored entries (etcd gives
 * a restored cluster a new --initial-cluster-token for the same reason).
 *
 * Foreign cluster: with --source-cluster-id, a file taken from any other cluster is refused
 * (SnapshotFileForeign) — the check that the backup being restored is the one the operator meant.
 *
 * All or nothing: arguments, the file (every check, the whole IPAM state decoded) and the target are
 * checked before anything is written; the directory is then built under a temp name beside DIR, read
 * back and compared, and renamed to DIR at the end. DIR must not exist or be an empty directory; on any
 * refusal or failure DIR is exactly as it was and the temp directory is gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkMember, encodeNodeSnapshot, type MemberAttributes } from '../node/cluster-app.js';
import type { Snapshot } from '../raft/types.js';
import { LevelStorage } from '../storage/level-storage.js';
import { wholeSnapshot } from '../storage/whole-snapshot.js';
import { isTransportError, validateClusterId, validateNodeId } from '../transport/errors.js';
import { BackupError } from './errors.js';
import { readSnapshotFile } from './snapshot-file.js';

export interface RestoreOptions {
  /** The saved snapshot file. */
  file: string;
  /** The member's data directory to create. */
  dataDir: string;
  /** This member's id. */
  name: string;
  /** Every member of the new cluster: id → peer host:port (the new cluster's voters). */
  initialCluster: Record<string, string>;
  /** The new cluster's id (default: derived, see defaultRestoredClusterId). Must differ from the source's. */
  clusterId?: string;
  /** Refuse a snapshot taken from any other cluster. */
  sourceClusterId?: string;
}

export interface RestoreResult {
  dataDir: string;
  name: string;
  /** The new cluster's id: pass it to `serve --cluster-id`. */
  clusterId: string;
  sourceClusterId: string;
  index: number;
  term: number;
  /** The restored cluster reports exactly this state hash until its first command. */
  stateHash: string;
  voters: string[];
}

/** The id every member restored from the same file with the same --initial-cluster computes. */
export function defaultRestoredClusterId(source: { clusterId: string; index: number; term: number; stateHash: string }, initialCluster: Record<string, string>): string {
  const members = Object.keys(initialCluster)
    .sort()
    .map((id) => `${id}=${initialCluster[id]}`)
    .join(',');
  const digest = createHash('sha256').update([source.clusterId, source.index, source.term, source.stateHash, members].join('\n')).digest('hex');
  return `restored-${digest.slice(0, 12)}`;
}

export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const o = checkOptions(options);
  const target = resolve(o.dataDir);
  // The cheap refusal first: a directory in use is never a target, whatever the file holds.
  await checkTarget(target);
  const file = await readSnapshotFile(o.file, o.sourceClusterId !== undefined ? { sourceClusterId: o.sourceClusterId } : {});
  const meta = file.meta;
  const clusterId = o.clusterId ?? defaultRestoredClusterId(meta, o.initialCluster);
  if (clusterId === meta.clusterId) {
    throw new BackupError('InvalidArgument', `--cluster-id ${clusterId} is the id of the cluster the snapshot was taken from; a restored cluster needs a new id, or a still-running member of the old cluster could take part in its elections (omit --cluster-id for a derived one)`);
  }

  const voters = Object.keys(o.initialCluster).sort();
  const members: MemberAttributes[] = voters.map((id) => ({ id, peerUrl: o.initialCluster[id] as string }));
  const snapshot: Snapshot = { meta: { index: meta.index, term: meta.term, conf: { voters, learners: [] } }, data: encodeNodeSnapshot(members, file.payload) };
  const parent = dirname(target);
  const temp = join(parent, `.${basename(target)}.restore-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(temp);
    await buildStore(temp, clusterId, o.name, snapshot);
    await verifyStore(temp, clusterId, o.name, snapshot);
    await syncDir(temp);
    // An empty directory at the target is replaced by the rename (rename(2) replaces an empty directory
    // and fails with ENOTEMPTY otherwise, so a file written into it meanwhile is never lost).
    await checkTarget(target);
    await rename(temp, target);
    await syncDir(parent);
  } catch (e) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof BackupError) throw e;
    throw new BackupError('SnapshotFileIo', `cannot build ${target}: ${(e as Error).message}`, { cause: e });
  }
  return { dataDir: target, name: o.name, clusterId, sourceClusterId: meta.clusterId, index: meta.index, term: meta.term, stateHash: meta.stateHash, voters };
}

function checkOptions(options: RestoreOptions): RestoreOptions {
  const fail = (m: string): never => {
    throw new BackupError('InvalidArgument', m);
  };
  if (typeof options !== 'object' || options === null) fail('restore options must be an object');
  const known = ['file', 'dataDir', 'name', 'initialCluster', 'clusterId', 'sourceClusterId'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k) && (options as unknown as Record<string, unknown>)[k] !== undefined);
  if (unknown.length > 0) fail(`unknown restore option(s) ${unknown.join(', ')}`);
  if (typeof options.file !== 'string' || options.file === '') fail('the snapshot file is required');
  if (typeof options.dataDir !== 'string' || options.dataDir === '') fail('--data-dir is required');
  const transportCheck = <T>(f: () => T, what: string): T => {
    try {
      return f();
    } catch (e) {
      if (isTransportError(e)) return fail(`${what}: ${e.message}`);
      throw e;
    }
  };
  transportCheck(() => validateNodeId(options.name), '--name');
  const cluster = options.initialCluster;
  if (typeof cluster !== 'object' || cluster === null || Object.keys(cluster).length === 0) fail('--initial-cluster must name at least one member');
  for (const [id, addr] of Object.entries(cluster)) {
    transportCheck(() => validateNodeId(id), `--initial-cluster member ${JSON.stringify(id)}`);
    try {
      checkMember({ id, peerUrl: addr });
    } catch (e) {
      fail(`--initial-cluster ${id}: ${(e as Error).message}`);
    }
  }
  if (!Object.hasOwn(cluster, options.name)) fail(`--name ${options.name} is not in --initial-cluster (${Object.keys(cluster).join(', ')}): restore builds the directory of one of its members`);
  if (options.clusterId !== undefined) transportCheck(() => validateClusterId(options.clusterId), '--cluster-id');
  if (options.sourceClusterId !== undefined) transportCheck(() => validateClusterId(options.sourceClusterId), '--source-cluster-id');
  return options;
}

/** The target must not exist, or be an empty directory. */
async function checkTarget(target: string): Promise<void> {
  let st;
  try {
    st = await stat(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BackupError('SnapshotFileIo', `cannot check ${target}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) throw new BackupError('RestoreTargetNotEmpty', `${target} exists and is not a directory`);
  const entries = await readdir(target);
  if (entries.length > 0) throw new BackupError('RestoreTargetNotEmpty', `${target} is not empty (${entries.length} entries, e.g. ${entries.slice(0, 3).join(', ')}): restore only creates a new data directory, it never overwrites one`);
}

async function buildStore(dir: string, clusterId: string, nodeId: string, snapshot: Snapshot): Promise<void> {
  const storage = await LevelStorage.open({ dir, clusterId, nodeId });
  try {
    // Exactly what a follower persists when it installs a leader's snapshot: the snapshot replaces the
    // (empty) log, and the hard state commits it.
    await storage.persist({ ...wholeSnapshot(snapshot), hardState: { term: snapshot.meta.term, vote: null, commit: snapshot.meta.index } });
  } finally {
    await storage.close();
  }
}

/** Open the store as a node would and compare what it loads with what was meant to be written. */
async function verifyStore(dir: string, clusterId: string, nodeId: string, snapshot: Snapshot): Promise<void> {
  const storage = await LevelStorage.open({ dir, clusterId, nodeId });
  try {
    const boot = await storage.load();
    const got = boot.snapshot;
    const same =
      got !== undefined &&
      got.meta.index === snapshot.meta.index &&
      got.meta.term === snapshot.meta.term &&
      JSON.stringify(got.meta.conf) === JSON.stringify(snapshot.meta.conf) &&
      Buffer.from(got.data).equals(Buffer.from(snapshot.data)) &&
      boot.entries.length === 0 &&
      boot.hardState.commit === snapshot.meta.index;
    if (!same) throw new BackupError('SnapshotFileIo', `${dir}: the store read back differs from what was written`);
  } finally {
    await storage.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
