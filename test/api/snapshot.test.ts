/**
 * GET /v1/snapshot and `snapshot save`'s download (IpamClient.snapshot + saveSnapshot): the body is a
 * saved snapshot file whose headers repeat its fields; the route is protected, takes no query, and maps
 * cluster conditions like every route; the client follows a follower's redirect to the leader; and a
 * download that is cut short, damaged, stalled, mislabelled or refused leaves the target file as it was
 * and no temp file beside it.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpamClient, IpamClientError } from '../../src/api/client.js';
import { createApiServer } from '../../src/api/server.js';
import { SNAPSHOT_CONTENT_TYPE, SNAPSHOT_HEADERS } from '../../src/api/wire.js';
import { saveSnapshot } from '../../src/backup/save.js';
import { encodeSnapshotFile, parseSnapshotFile } from '../../src/backup/snapshot-file.js';
import { call, get } from '../support/api-inject.js';
import { listen, type Running } from '../support/api-servers.js';
import { TestNodeService } from '../support/test-node-service.js';
import { TempDirs } from '../storage/tmp-dirs.js';

const dirs = new TempDirs();
const running: Running[] = [];
const raw: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.app.close()));
  for (const s of raw.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await dirs.cleanup();
});

function seeded(id = 'n1', options: { clientUrl?: string } = {}): TestNodeService {
  const n = new TestNodeService(id, options);
  n.sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
  n.sm.apply({ type: 'assignSlice', network: 'pods', nodeId: 'w1' });
  for (let i = 0; i < 20; i++) n.sm.apply({ type: 'allocate', network: 'pods', nodeId: 'w1', owner: `c${i}` });
  return n;
}

async function serve(service: TestNodeService, token?: string): Promise<string> {
  const r = await listen(service, token !== undefined ? { token } : {});
  running.push(r);
  return r.url;
}

/** A hand-written HTTP server for the faults a real node never makes on purpose. */
async function rawServer(handler: (res: ServerResponse) => void): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const s = createServer((_req, res) => {
    n++;
    handler(res);
  });
  raw.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, requests: () => n };
}

const FILE_META = { clusterId: 'src-1', index: 1234, term: 3, takenAt: 1_700_000_000_000 };

function snapshotHeaders(file: Uint8Array, overrides: Record<string, string> = {}): Record<string, string> {
  const m = parseSnapshotFile(file).meta;
  return {
    'content-type': SNAPSHOT_CONTENT_TYPE,
    'content-length': String(file.length),
    [SNAPSHOT_HEADERS.index]: String(m.index),
    [SNAPSHOT_HEADERS.term]: String(m.term),
    [SNAPSHOT_HEADERS.clusterId]: m.clusterId,
    [SNAPSHOT_HEADERS.stateHash]: m.stateHash,
    [SNAPSHOT_HEADERS.takenAt]: String(m.takenAt),
    ...overrides,
  };
}

/** Target dir with an existing snapshot at `file`, to prove a failed save leaves it alone. */
async function targetWithOldFile(): Promise<{ dir: string; file: string; old: Buffer }> {
  const dir = await dirs.make('raft-ipam-save-');
  const file = join(dir, 'backup.snap');
  const old = Buffer.from(encodeSnapshotFile({ ...FILE_META, clusterId: 'old' }, seeded().sm.snapshot()));
  await writeFile(file, old);
  return { dir, file, old };
}

async function untouched(t: { dir: string; file: string; old: Buffer }): Promise<void> {
  expect((await readFile(t.file)).equals(t.old)).toBe(true);
  expect(await readdir(t.dir)).toEqual(['backup.snap']); // no temp file left beside it
}

const fast = { backoff: { baseMs: 1, maxMs: 5 }, timeoutMs: 5_000 };

describe('GET /v1/snapshot', () => {
  it('answers a saved snapshot file of the state, with its fields repeated in headers', async () => {
    const node = seeded();
    const app = createApiServer(node, { token: 'tok' });
    const res = await app.inject({ method: 'GET', url: '/v1/snapshot', headers: { authorization: 'Bearer tok' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(SNAPSHOT_CONTENT_TYPE);
    const parsed = parseSnapshotFile(res.rawPayload);
    expect(parsed.meta).toMatchObject({ clusterId: 'test-cluster', index: 1, term: 1, takenAt: 1_700_000_000_000, stateHash: node.sm.stateHash() });
    expect(Buffer.from(parsed.payload).equals(Buffer.from(node.sm.snapshot()))).toBe(true);
    expect(res.headers).toMatchObject({
      'content-length': String(res.rawPayload.length),
      [SNAPSHOT_HEADERS.index]: String(parsed.meta.index),
      [SNAPSHOT_HEADERS.term]: '1',
      [SNAPSHOT_HEADERS.clusterId]: 'test-cluster',
      [SNAPSHOT_HEADERS.stateHash]: node.sm.stateHash(),
      [SNAPSHOT_HEADERS.takenAt]: String(parsed.meta.takenAt),
    });
    await app.close();
  });

  it('needs the token, takes no query, and answers cluster conditions as JSON envelopes with their status', async () => {
    const node = seeded('n2');
    const app = createApiServer(node, { token: 'tok' });
    const auth = { authorization: 'Bearer tok' };
    expect(await get(app, '/v1/snapshot')).toMatchObject({ status: 401, body: { ok: false, error: { code: 'Unauthorized' } } });
    expect(await get(app, '/v1/snapshot?consistency=stale', auth)).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequest' } } });
    node.failNext({ code: 'NotLeader', leader: { id: 'n1', clientUrl: 'http://127.0.0.1:9' } });
    const redirected = await get(app, '/v1/snapshot', auth);
    expect(redirected).toMatchObject({ status: 307, headers: { location: 'http://127.0.0.1:9/v1/snapshot' }, body: { error: { code: 'NotLeader' } } });
    node.failNext({ code: 'Timeout' }, { code: 'NoLeader' }, { code: 'Defect' });
    expect(await get(app, '/v1/snapshot', auth)).toMatchObject({ status: 504, body: { error: { code: 'Timeout' } } });
    expect(await get(app, '/v1/snapshot', auth)).toMatchObject({ status: 503, body: { error: { code: 'NoLeader' } } });
    const defect = await call(app, { method: 'GET', url: '/v1/snapshot', headers: auth });
    expect(defect).toMatchObject({ status: 500, body: { error: { code: 'Internal' } } });
    await app.close();
  });
});

describe('saving a snapshot from a live API', () => {
  it('follows a follower to the leader, streams the file into place atomically and reports what it holds', async () => {
    const leader = seeded('n1');
    const leaderUrl = await serve(leader, 'tok');
    const follower = seeded('n2');
    follower.failAlways({ code: 'NotLeader', leader: { id: 'n1', clientUrl: leaderUrl } });
    const followerUrl = await serve(follower, 'tok');
    const t = await targetWithOldFile();
    const progress: number[] = [];
    const client = new IpamClient({ endpoints: [followerUrl], token: 'tok', ...fast });
    const r = await saveSnapshot({ client, file: t.file, onProgress: (p) => progress.push(p.received) });
    expect(r).toMatchObject({ file: t.file, endpoint: leaderUrl, clusterId: 'test-cluster', term: 1, stateHash: leader.sm.stateHash(), addresses: 20, slices: 1, sessions: 0 });
    expect(r.networks).toEqual([{ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24, slicesAssigned: 1, addressesAllocated: 20 }]);
    const written = await readFile(t.file);
    expect(written.length).toBe(r.bytes);
    expect(parseSnapshotFile(written).meta.stateHash).toBe(leader.sm.stateHash());
    expect(progress.at(-1)).toBe(r.bytes);
    expect(await readdir(t.dir)).toEqual(['backup.snap']);
  });

  it('a body cut short is SnapshotFileTruncated', async () => {
    const file = encodeSnapshotFile(FILE_META, seeded().sm.snapshot());
    const s = await rawServer((res) => {
      res.writeHead(200, snapshotHeaders(file));
      res.write(file.subarray(0, file.length - 10));
      setTimeout(() => res.destroy(), 20);
    });
    const t = await targetWithOldFile();
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s.url], ...fast }), file: t.file })).rejects.toMatchObject({ code: 'SnapshotFileTruncated', message: expect.stringMatching(/broke off after \d+ of \d+ bytes/) });
    await untouched(t);
  });

  it('a damaged body is SnapshotFileCorrupt, and so is a sound file that contradicts the headers', async () => {
    const file = encodeSnapshotFile(FILE_META, seeded().sm.snapshot());
    const damaged = file.slice();
    damaged[file.length - 5] = (damaged[file.length - 5] as number) ^ 0x40;
    const s1 = await rawServer((res) => res.writeHead(200, snapshotHeaders(file)).end(damaged));
    const t = await targetWithOldFile();
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s1.url], ...fast }), file: t.file })).rejects.toMatchObject({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/downloaded from .*SHA-256 mismatch/) });
    await untouched(t);
    const s2 = await rawServer((res) => res.writeHead(200, snapshotHeaders(file, { [SNAPSHOT_HEADERS.index]: '99' })).end(file));
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s2.url], ...fast }), file: t.file })).rejects.toMatchObject({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/the response headers said index 99/) });
    await untouched(t);
  });

  it('a download that stops sending is SnapshotFileIo after the stall timeout', async () => {
    const file = encodeSnapshotFile(FILE_META, seeded().sm.snapshot());
    const s = await rawServer((res) => {
      res.writeHead(200, snapshotHeaders(file));
      res.write(file.subarray(0, 50)); // and then nothing
    });
    const t = await targetWithOldFile();
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s.url], ...fast }), file: t.file, stallTimeoutMs: 200 })).rejects.toMatchObject({ code: 'SnapshotFileIo', message: expect.stringMatching(/stalled: no data for 200 ms after 50 of/) });
    await untouched(t);
  });

  it('a 200 that is not a snapshot, a refusal, or a target that is a directory: nothing written', async () => {
    const s = await rawServer((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>'));
    const t = await targetWithOldFile();
    const e = await saveSnapshot({ client: new IpamClient({ endpoints: [s.url], ...fast }), file: t.file }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IpamClientError);
    expect(e).toMatchObject({ code: 'BadResponse' });
    await untouched(t);
    const protectedUrl = await serve(seeded(), 'tok');
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [protectedUrl], token: 'wrong', ...fast }), file: t.file })).rejects.toMatchObject({ code: 'Unauthorized', kind: 'unauthorized' });
    await untouched(t);
    await mkdir(join(t.dir, 'sub'));
    const before = s.requests();
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s.url], ...fast }), file: join(t.dir, 'sub') })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/is a directory/) });
    expect(s.requests()).toBe(before); // refused before asking the cluster
    await expect(saveSnapshot({ client: new IpamClient({ endpoints: [s.url], ...fast }), file: t.file, stallTimeoutMs: 0 })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
