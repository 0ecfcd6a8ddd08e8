/**
 * The allocator state file (the seed's JSON): an atomic save a reader never sees half-written, and a load
 * that says which file and what is wrong with it.
 */
import { mkdtemp, readdir, readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAllocatorState, saveAllocatorState, writeFileAtomic } from '../src/ipam/allocator-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alloc-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes the contents, creating missing folders, and leaves no temp file behind', async () => {
    const path = join(dir, 'a', 'b', 'state.json');
    await writeFileAtomic(path, 'hello');
    expect(await readFile(path, 'utf8')).toBe('hello');
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(await readFile(path, 'utf8')).toBe('hi');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['state.json']);
  });

  it('a failed save leaves the target as it was, drops its temp file and says which path failed', async () => {
    const path = join(dir, 'target');
    await mkdir(path); // a directory: the rename over it fails
    await writeFile(join(path, 'keep'), 'x');
    await expect(writeFileAtomic(path, 'new')).rejects.toMatchObject({ code: 'IoError', message: expect.stringMatching(new RegExp(`^cannot write ${path}: `)) });
    expect((await readdir(dir)).sort()).toEqual(['target']);
    expect(await readdir(path)).toEqual(['keep']);
  });
});

describe('saveAllocatorState / readAllocatorState', () => {
  it('round-trips the seed format as indented JSON with a final newline', async () => {
    const path = join(dir, 'alloc.json');
    const state = { cidr: '10.0.0.0/24', allocated: ['10.0.0.1', '10.0.0.7'] };
    await saveAllocatorState(path, state);
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(state, null, 2)}\n`);
    expect(await readAllocatorState(path)).toEqual(state);
  });

  it('a missing file is an IoError naming it; a file that is not JSON is InvalidState naming it', async () => {
    const missing = join(dir, 'nope.json');
    await expect(readAllocatorState(missing)).rejects.toMatchObject({ code: 'IoError', message: expect.stringMatching(new RegExp(`^cannot read allocator state ${missing}: .*ENOENT`)) });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"cidr": ');
    await expect(readAllocatorState(bad)).rejects.toMatchObject({ code: 'InvalidState', message: expect.stringMatching(new RegExp(`^allocator state ${bad} is not valid JSON: `)) });
  });
});
