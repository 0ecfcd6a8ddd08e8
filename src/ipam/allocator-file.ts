/**
 * File I/O for the seed's allocator state JSON ({"cidr", "allocated"}): an atomic, crash-safe save and a
 * validating load. Kept apart from IpAllocator so the allocator stays pure (no node:fs on its import path)
 * and the atomic-write rule lives in one place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OverlayError } from './errors.js';
import type { IpAllocatorState } from './ip-allocator.js';

/**
 * Write `data` to `path` so that a reader sees the old or the new contents, never a mix: write a temp file
 * beside the target, fsync it, rename it over the target, fsync the folder (a rename is only durable once
 * its directory is). The temp name carries 96 random bits and is opened with 'wx' (create, fail if it
 * exists): two saves to one path, from one process in the same millisecond or from two processes, never
 * write into the same temp file; the last rename wins with a complete file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
  let created = false;
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    // The target is untouched; drop our partial temp file (only ours: 'wx' guarantees we created it).
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, when created is true the temp file exists, so rm needs no force, and any rm error is swallowed
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw new OverlayError('IoError', `cannot write ${path}: ${(e as Error).message}`);
  }
}

export async function saveAllocatorState(path: string, state: IpAllocatorState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

/** Read and parse an allocator state file; the caller validates the shape (IpAllocator.fromState). */
export async function readAllocatorState(path: string): Promise<unknown> {
  let text: string;
  try {
    // Stryker disable next-line StringLiteral: equivalent, without an encoding readFile returns a Buffer, which JSON.parse reads as UTF-8 text
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new OverlayError('IoError', `cannot read allocator state ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new OverlayError('InvalidState', `allocator state ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
