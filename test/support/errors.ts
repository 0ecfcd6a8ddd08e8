import { OverlayError } from '../../src/index.js';

/** The OverlayError code `fn` throws, or undefined if it returns; anything else is rethrown. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof OverlayError) return e.code;
    throw e;
  }
  return undefined;
}

/** The code and message of the error `fn` throws (any coded error); fails the test if `fn` accepts. */
export function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('accepted');
}

/** The message of the InvalidSnapshot error `fn` throws; fails the test if `fn` accepts or throws another code. */
export function invalidSnapshot(fn: () => unknown): string {
  const { code, message } = failure(fn);
  if (code !== 'InvalidSnapshot') throw new Error(`expected InvalidSnapshot, got ${code}: ${message}`);
  return message;
}
