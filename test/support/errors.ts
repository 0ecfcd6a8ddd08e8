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
