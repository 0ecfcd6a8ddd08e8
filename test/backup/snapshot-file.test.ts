/**
 * The saved snapshot file: a round trip keeps every field and the state byte for byte, and every kind of
 * damage is refused with its own stable code — every single-byte flip, every truncation, bytes appended,
 * a foreign magic (the data directory's own snapshot files named as such), a newer file or IPAM version,
 * a snapshot of another cluster, and a payload whose checksum matches but whose state is invalid.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError } from '../../src/backup/errors.js';
import { decodeSnapshotState, encodeSnapshotFile, encodeSnapshotHeader, parseSnapshotFile, readSnapshotFile, sha256Stepwise, SNAPSHOT_FILE_VERSION } from '../../src/backup/snapshot-file.js';
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import { TempDirs } from '../storage/tmp-dirs.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function state(): IpamStateMachine {
  const sm = new IpamStateMachine();
  sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
  sm.apply({ type: 'configureNetwork', name: 'pods6', cidr: 'fd00::/48', slicePrefix: 64, pair: 'pods' });
  sm.apply({ type: 'assignSlice', network: 'pods', nodeId: 'w1' });
  sm.apply({ type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'ctr-1' });
  sm.apply({ type: 'allocate', network: 'pods6', nodeId: 'w1' });
  return sm;
}

const META = { clusterId: 'prod-a', index: 1234, term: 7, takenAt: 1_700_000_123_456 };

/** The error code `f` throws (a BackupError), or 'accepted'. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof BackupError) return e.code;
    throw e;
  }
  return 'accepted';
}

/** Rewrite the header CRC after editing header fields, so a test reaches the check after it. */
function resealHeader(file: Uint8Array): Uint8Array {
  const b = Buffer.from(file);
  const idLength = b.readUInt8(76);
  b.writeUInt32BE(crc32(b.subarray(0, 77 + idLength)), 77 + idLength);
  return new Uint8Array(b);
}

describe('saved snapshot file', () => {
  it('round trip: every header field, the payload byte for byte, and the state hash as the SHA-256 of the payload', async () => {
    const sm = state();
    const file = encodeSnapshotFile(META, sm.snapshot());
    const parsed = parseSnapshotFile(file);
    expect(parsed.meta).toEqual({ ...META, payloadLength: sm.snapshot().length, stateHash: sm.stateHash() });
    expect(parsed.headerLength).toBe(81 + META.clusterId.length);
    expect(Buffer.from(parsed.payload).equals(Buffer.from(sm.snapshot()))).toBe(true);
    expect(decodeSnapshotState(parsed.payload).stateHash()).toBe(sm.stateHash());
    expect(Buffer.from(file.subarray(0, 8)).toString('latin1')).toBe('RIPMSNAP');
    // The stepwise hash the API uses is the same hash, whatever the slice size.
    expect(await sha256Stepwise(sm.snapshot(), 7)).toBe(sm.stateHash());
    // The same cluster named as the expected source is accepted.
    expect(parseSnapshotFile(file, { sourceClusterId: 'prod-a' }).meta.index).toBe(1234);
  });

  it('an empty state round-trips too (payload of the empty IPAM state)', () => {
    const sm = new IpamStateMachine();
    const parsed = parseSnapshotFile(encodeSnapshotFile({ ...META, index: 1, term: 1, takenAt: 0 }, sm.snapshot()));
    expect(decodeSnapshotState(parsed.payload).stateHash()).toBe(sm.stateHash());
  });

  it('every single-byte flip is refused: the version field as SnapshotFileVersion, any other byte as SnapshotFileCorrupt', () => {
    const file = encodeSnapshotFile(META, state().snapshot());
    const seen = new Map<string, number>();
    for (let i = 0; i < file.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = file.slice();
        bad[i] = (bad[i] as number) ^ mask;
        const code = codeOf(() => decodeSnapshotState(parseSnapshotFile(bad).payload));
        expect(code, `byte ${i} ^ 0x${mask.toString(16)}`).toBe(i === 8 || i === 9 ? 'SnapshotFileVersion' : 'SnapshotFileCorrupt');
        seen.set(code, (seen.get(code) ?? 0) + 1);
      }
    }
    expect(seen.get('SnapshotFileVersion')).toBe(6);
  });

  it('every truncation is refused as SnapshotFileTruncated, in the magic, the header, the cluster id and the payload', () => {
    const file = encodeSnapshotFile(META, state().snapshot());
    for (let n = 0; n < file.length; n++) {
      expect(codeOf(() => parseSnapshotFile(file.subarray(0, n))), `first ${n} bytes`).toBe('SnapshotFileTruncated');
    }
    expect(() => parseSnapshotFile(file.subarray(0, 40))).toThrow(/truncated: 40 bytes, the fixed header needs 77/);
    expect(() => parseSnapshotFile(file.subarray(0, file.length - 1))).toThrow(new RegExp(`truncated: ${file.length - 1} bytes`));
  });

  it('bytes after the payload are refused as corrupt', () => {
    const file = encodeSnapshotFile(META, state().snapshot());
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    expect(() => parseSnapshotFile(longer)).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/1 unexpected bytes after the payload/) }));
  });

  it('a file that is not a saved snapshot: other magic, and a data directory snapshot file named as such', () => {
    expect(() => parseSnapshotFile(Buffer.from('{"cidr":"10.0.0.0/8"}'))).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/bad magic: not a raft-ipam snapshot file/) }));
    const storageFile = Buffer.concat([Buffer.from('RIPSNAP\0', 'latin1'), Buffer.alloc(40)]);
    expect(() => parseSnapshotFile(storageFile)).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/data directory snapshot \(snap\/\*\.snap\)/) }));
    // The IPAM snapshot bytes alone (without the file header) are not a file either.
    expect(codeOf(() => parseSnapshotFile(state().snapshot()))).toBe('SnapshotFileCorrupt');
  });

  it('a newer file format version is SnapshotFileVersion, read before the rest of the header', () => {
    const b = Buffer.from(encodeSnapshotFile(META, state().snapshot()));
    b.writeUInt16BE(SNAPSHOT_FILE_VERSION + 1, 8);
    const resealed = resealHeader(b);
    expect(() => parseSnapshotFile(resealed)).toThrow(expect.objectContaining({ code: 'SnapshotFileVersion', message: expect.stringMatching(/format version 2 is not supported \(this build reads version 1\)/) }));
    // Even a file cut right after the version says so, not "truncated": nothing after it can be trusted.
    expect(codeOf(() => parseSnapshotFile(resealed.subarray(0, 12)))).toBe('SnapshotFileVersion');
  });

  it('an IPAM state of another snapshot version inside a sound file is SnapshotFileVersion', () => {
    const payload = Buffer.from(state().snapshot());
    payload[4] = 3;
    expect(() => parseSnapshotFile(encodeSnapshotFile(META, payload))).toThrow(expect.objectContaining({ code: 'SnapshotFileVersion', message: expect.stringMatching(/IPAM state inside is snapshot format version 3/) }));
  });

  it('a snapshot of another cluster is SnapshotFileForeign when the source cluster is named', () => {
    const file = encodeSnapshotFile(META, state().snapshot());
    expect(() => parseSnapshotFile(file, { sourceClusterId: 'prod-b' })).toThrow(expect.objectContaining({ code: 'SnapshotFileForeign', message: expect.stringMatching(/taken from cluster "prod-a", not "prod-b"/) }));
  });

  it('header fields outside their range are corrupt even with a matching CRC', () => {
    const b = Buffer.from(encodeSnapshotFile(META, state().snapshot()));
    b.writeBigUInt64BE(0n, 12); // index 0
    expect(() => parseSnapshotFile(resealHeader(b))).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/index 0 is outside 1\.\.2\^53-1/) }));
    const huge = Buffer.from(encodeSnapshotFile(META, state().snapshot()));
    huge.writeBigUInt64BE(2n ** 60n, 20); // term beyond 2^53
    expect(() => parseSnapshotFile(resealHeader(huge))).toThrow(/term \d+ is outside 1\.\.2\^53-1/);
    const badId = Buffer.from(encodeSnapshotFile(META, state().snapshot()));
    badId.write('-', 77, 'latin1'); // a cluster id may not start with '-'
    expect(() => parseSnapshotFile(resealHeader(badId))).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/header: cluster id must match/) }));
    const zeroId = Buffer.from(encodeSnapshotFile(META, state().snapshot()));
    zeroId.writeUInt8(0, 76);
    expect(() => parseSnapshotFile(zeroId)).toThrow(/cluster id length 0 is outside 1\.\.128/);
  });

  it('a payload whose SHA-256 matches but whose IPAM state is invalid is corrupt (checked by the live decoder)', () => {
    const payload = Buffer.from(state().snapshot());
    payload[payload.length - 1] = (payload[payload.length - 1] as number) ^ 0x01;
    const parsed = parseSnapshotFile(encodeSnapshotFile(META, payload)); // framing and SHA-256 are fine
    expect(() => decodeSnapshotState(parsed.payload)).toThrow(expect.objectContaining({ code: 'SnapshotFileCorrupt', message: expect.stringMatching(/the checksums match but the IPAM state is invalid/) }));
  });

  it('encodeSnapshotHeader refuses what it could not read back', () => {
    const ok = { ...META, payloadLength: 10, stateHash: 'ab'.repeat(32) };
    expect(encodeSnapshotHeader(ok).length).toBe(81 + 6);
    const bad: Array<[Partial<typeof ok>, RegExp]> = [
      [{ index: 0 }, /index must be an integer ≥ 1/],
      [{ term: 1.5 }, /term must be an integer ≥ 1/],
      [{ takenAt: -1 }, /takenAt must be an integer ≥ 0/],
      [{ payloadLength: Number.MAX_SAFE_INTEGER + 2 }, /payloadLength/],
      [{ stateHash: 'AB'.repeat(32) }, /64 lowercase hex digits/],
      [{ clusterId: '' }, /cluster id must match/],
      [{ clusterId: 'x'.repeat(129) }, /cluster id must match/],
    ];
    for (const [change, message] of bad) expect(() => encodeSnapshotHeader({ ...ok, ...change })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringMatching(message) }));
  });

  it('readSnapshotFile: checks everything and names the file; a missing file is SnapshotFileIo', async () => {
    const dir = await dirs.make('raft-ipam-backup-');
    const sm = state();
    const path = join(dir, 'good.snap');
    await writeFile(path, encodeSnapshotFile(META, sm.snapshot()));
    const read = await readSnapshotFile(path);
    expect(read.state.stateHash()).toBe(sm.stateHash());
    expect(read.meta.stateHash).toBe(createHash('sha256').update(sm.snapshot()).digest('hex'));
    await expect(readSnapshotFile(path, { sourceClusterId: 'other' })).rejects.toMatchObject({ code: 'SnapshotFileForeign', message: expect.stringContaining(path) });
    await writeFile(join(dir, 'short.snap'), encodeSnapshotFile(META, sm.snapshot()).subarray(0, 100));
    await expect(readSnapshotFile(join(dir, 'short.snap'))).rejects.toMatchObject({ code: 'SnapshotFileTruncated', message: expect.stringContaining('short.snap: truncated') });
    await expect(readSnapshotFile(join(dir, 'missing.snap'))).rejects.toMatchObject({ code: 'SnapshotFileIo' });
  });
});
