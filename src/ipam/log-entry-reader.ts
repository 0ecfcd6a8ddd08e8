/**
 * Fast path for decoding a log entry (log-entry.ts): the envelope read straight from its bytes.
 *
 * The general path unpacks the entry with msgpackr, validates it, and packs what it built again to prove
 * the bytes were the one canonical spelling. On a restart's replay of 100,000 entries that unpack and
 * re-pack were most of the time. This reader accepts only the bytes msgpackr writes for an envelope
 * (msgpack-cursor.ts) with its keys exactly in the order encodeEntry writes them — id, command, session?,
 * time?; the command's `type` and then its fields in declared order; the session's id, seq, ack? — and
 * with each field of the msgpack type its kind needs (a string, else an integer). It returns the raw
 * envelope object msgpackr would have decoded from those bytes, for the same validation (log-entry.ts
 * checkBody). Such bytes are exactly what packing the validated envelope gives back, so no re-encoding
 * is needed.
 *
 * Anything else — an unknown command type, a missing or unknown or reordered key, another msgpack type,
 * a longer encoding, invalid UTF-8, trailing bytes, a truncated entry — returns undefined and the caller
 * reads the entry the general way, which refuses it with the same message as before. So this path never
 * decides a refusal.
 */
import { commandLayout } from './commands.js';
import { Cursor, OFF_PATH } from './msgpack-cursor.js';

/** A key's whole encoding as msgpackr writes it: a fixstr of ASCII (every key here is short ASCII). */
function key(name: string): Uint8Array {
  return Uint8Array.from([0xa0 | name.length, ...Buffer.from(name, 'latin1')]);
}

const ID = key('id');
const COMMAND = key('command');
const SESSION = key('session');
const TIME = key('time');
const TYPE = key('type');
const SEQ = key('seq');
const ACK = key('ack');
/** A command type's fields in declared order: name, key bytes, and whether the value is an integer. */
type Layout = ReadonlyArray<{ name: string; key: Uint8Array; numeric: boolean }>;
const layouts = new Map<string, Layout | undefined>();
function layoutOf(type: string): Layout | undefined {
  if (layouts.has(type)) return layouts.get(type);
  // Only command types are kept: an unknown type read from a hostile entry must not grow the cache.
  const layout = commandLayout(type)?.map(([name, numeric]) => ({ name, key: key(name), numeric }));
  if (layout !== undefined) layouts.set(type, layout);
  return layout;
}

/** The raw envelope msgpackr would decode from `bytes`, when they are its canonical spelling; else undefined. */
export function readEntryEnvelope(bytes: Uint8Array): Record<string, unknown> | undefined {
  const c = new Cursor(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  try {
    const keys = c.map16();
    if (keys < 2 || keys > 4 || !c.literal(ID)) return undefined;
    const out: Record<string, unknown> = { id: c.integer() };
    if (!c.literal(COMMAND)) return undefined;
    const command = readCommand(c);
    if (command === undefined) return undefined;
    out.command = command;
    let left = keys - 2;
    if (left > 0 && c.literal(SESSION)) {
      out.session = readSession(c);
      left--;
    }
    if (left > 0) {
      if (!c.literal(TIME)) return undefined;
      out.time = c.integer();
      left--;
    }
    return left === 0 && c.done ? out : undefined;
  } catch (e) {
    if (e === OFF_PATH) return undefined;
    throw e;
  }
}

function readCommand(c: Cursor): Record<string, unknown> | undefined {
  const keys = c.map16();
  if (keys < 1 || !c.literal(TYPE)) return undefined;
  const type = c.string();
  const layout = layoutOf(type);
  if (layout === undefined) return undefined;
  const out: Record<string, unknown> = { type };
  let left = keys - 1;
  // Fields in declared order; an absent one is skipped (whether it may be absent is checkBody's to say).
  for (let i = 0; i < layout.length && left > 0; i++) {
    const field = layout[i] as Layout[number];
    if (!c.literal(field.key)) continue;
    out[field.name] = field.numeric ? c.integer() : c.string();
    left--;
  }
  return left === 0 ? out : undefined;
}

function readSession(c: Cursor): Record<string, unknown> {
  const keys = c.map16();
  if ((keys !== 2 && keys !== 3) || !c.literal(ID)) throw OFF_PATH;
  const out: Record<string, unknown> = { id: c.integer() };
  if (!c.literal(SEQ)) throw OFF_PATH;
  out.seq = c.integer();
  if (keys === 3) {
    if (!c.literal(ACK)) throw OFF_PATH;
    out.ack = c.integer();
  }
  return out;
}
