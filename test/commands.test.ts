/**
 * parseCommand (src/ipam/commands.ts): the boundary check every command passes before it can touch state,
 * whether it arrives through apply() or inside a log entry. Each field kind is checked at its bounds, the
 * refusal names the command and the field, and the accepted command is a fresh copy in one field order
 * (the log entry's canonical bytes depend on it).
 */
import { describe, expect, it } from 'vitest';
import { COMMAND_TYPES, MIN_SESSION_TTL_MS, parseCommand, type IpamCommand } from '../src/index.js';

function refusal(input: unknown): string {
  try {
    parseCommand(input);
  } catch (e) {
    expect(e).toMatchObject({ code: 'InvalidCommand' });
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('parseCommand', () => {
  it('knows exactly the thirteen command types', () => {
    expect([...COMMAND_TYPES].sort()).toEqual(
      ['allocate', 'allocateFirst', 'allocateSpecific', 'assignSlice', 'assignSpecificSlice', 'closeSession', 'configureNetwork', 'configureSessions', 'mark', 'openSession', 'release', 'releaseOwner', 'releaseSlice'].sort(),
    );
  });

  it('returns a fresh copy with the fields in declared order and absent optional fields left out', () => {
    const input = { owner: 'o', nodeId: 'n1', network: 'v4', type: 'allocate' };
    const parsed = parseCommand(input);
    expect(parsed).not.toBe(input);
    expect(Object.keys(parsed)).toEqual(['type', 'network', 'nodeId', 'owner']);
    expect(Object.keys(parseCommand({ nodeId: 'n1', type: 'allocate', network: 'v4', owner: undefined }))).toEqual(['type', 'network', 'nodeId']);
    expect(parseCommand({ type: 'openSession' })).toStrictEqual({ type: 'openSession' });
    const all: IpamCommand[] = [
      { type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/8', slicePrefix: 24, pair: 'b' },
      { type: 'assignSpecificSlice', network: 'a', nodeId: 'n', slice: '10.0.0.0/24' },
      { type: 'allocateSpecific', network: 'a', nodeId: 'n', address: '10.0.0.1', owner: 'o' },
      { type: 'release', network: 'a', address: '10.0.0.1', generation: 3 },
      { type: 'releaseOwner', owner: 'o', network: 'a' },
      { type: 'closeSession', session: 2 },
      { type: 'configureSessions', ttlMs: 60_000 },
    ];
    for (const c of all) expect(parseCommand(c)).toStrictEqual(c);
  });

  it('refuses non-objects, unknown types, unexpected and missing fields, naming what is wrong', () => {
    expect(refusal(null)).toBe('command must be an object, got null');
    expect(refusal([])).toBe('command must be an object, got []');
    expect(refusal('allocate')).toBe('command must be an object, got "allocate"');
    expect(refusal({ type: 'toString' })).toBe('unknown command type "toString"');
    expect(refusal({ network: 'v4' })).toBe('unknown command type undefined');
    expect(refusal({ type: 'openSession', session: 1 })).toBe('openSession: unexpected field "session"');
    expect(refusal({ type: 'assignSlice', network: 'v4' })).toBe('assignSlice: missing field "nodeId"');
    expect(refusal({ type: 'releaseOwner', network: 'v4' })).toBe('releaseOwner: missing field "owner"');
  });

  it('strings: 1 to 256 characters, well formed', () => {
    const name = (n: unknown) => ({ type: 'releaseOwner', owner: n });
    for (const good of ['x', 'x'.repeat(256), 'nœud-6', '\ud83d\ude00']) expect(parseCommand(name(good))).toStrictEqual(name(good));
    for (const bad of ['', 'x'.repeat(257), '\udc00', '\ud83d', 5, null, ['x']]) {
      expect(refusal(name(bad))).toMatch(/^releaseOwner: field "owner" must be a non-empty string of at most 256 characters, got /);
    }
  });

  it('slice prefixes: integers 0 to 128', () => {
    const cfg = (slicePrefix: unknown) => ({ type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/8', slicePrefix });
    for (const good of [0, 24, 128]) expect(parseCommand(cfg(good))).toMatchObject({ slicePrefix: good });
    for (const bad of [-1, 129, 1.5, '24', Number.NaN, null]) {
      expect(refusal(cfg(bad))).toMatch(/^configureNetwork: field "slicePrefix" must be an integer prefix length 0\.\.128, got /);
    }
  });

  it('generations and session ids: positive safe integers', () => {
    const rel = (generation: unknown) => ({ type: 'release', network: 'a', address: '10.0.0.1', generation });
    const close = (session: unknown) => ({ type: 'closeSession', session });
    for (const good of [1, Number.MAX_SAFE_INTEGER]) {
      expect(parseCommand(rel(good))).toMatchObject({ generation: good });
      expect(parseCommand(close(good))).toMatchObject({ session: good });
    }
    for (const bad of [0, -1, 1.5, 2 ** 53, '1', null]) {
      expect(refusal(rel(bad))).toMatch(/^release: field "generation" must be a positive integer, got /);
      expect(refusal(close(bad))).toMatch(/^closeSession: field "session" must be a positive integer, got /);
    }
  });

  it('session TTLs: whole milliseconds from 1 s to 24 h', () => {
    const ttl = (ttlMs: unknown) => ({ type: 'configureSessions', ttlMs });
    for (const good of [MIN_SESSION_TTL_MS, 86_400_000]) expect(parseCommand(ttl(good))).toStrictEqual(ttl(good));
    for (const bad of [999, 86_400_001, 1_000.5, '60000', null]) {
      expect(refusal(ttl(bad))).toMatch(/^configureSessions: field "ttlMs" must be an integer number of milliseconds in 1000\.\.86400000, got /);
    }
  });
});

describe('parseCommand: every field of every command is checked', () => {
  // Written out by hand (not read from the parser's table): each command's fields and their kinds.
  const commands: Array<[IpamCommand, Record<string, 'string' | 'prefix' | 'positive' | 'ttl'>]> = [
    [{ type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/8', slicePrefix: 24, pair: 'b' }, { name: 'string', cidr: 'string', slicePrefix: 'prefix', pair: 'string' }],
    [{ type: 'assignSlice', network: 'a', nodeId: 'n' }, { network: 'string', nodeId: 'string' }],
    [{ type: 'assignSpecificSlice', network: 'a', nodeId: 'n', slice: '10.0.0.0/24' }, { network: 'string', nodeId: 'string', slice: 'string' }],
    [{ type: 'releaseSlice', network: 'a', nodeId: 'n' }, { network: 'string', nodeId: 'string' }],
    [{ type: 'allocate', network: 'a', nodeId: 'n', owner: 'o' }, { network: 'string', nodeId: 'string', owner: 'string' }],
    [{ type: 'allocateSpecific', network: 'a', nodeId: 'n', address: '10.0.0.1', owner: 'o' }, { network: 'string', nodeId: 'string', address: 'string', owner: 'string' }],
    [{ type: 'allocateFirst', network: 'a', nodeId: 'n', owner: 'o' }, { network: 'string', nodeId: 'string', owner: 'string' }],
    [{ type: 'mark', network: 'a', nodeId: 'n', address: '10.0.0.1' }, { network: 'string', nodeId: 'string', address: 'string' }],
    [{ type: 'release', network: 'a', address: '10.0.0.1', generation: 1 }, { network: 'string', address: 'string', generation: 'positive' }],
    [{ type: 'releaseOwner', owner: 'o', network: 'a' }, { owner: 'string', network: 'string' }],
    [{ type: 'closeSession', session: 1 }, { session: 'positive' }],
    [{ type: 'configureSessions', ttlMs: 60_000 }, { ttlMs: 'ttl' }],
  ];
  const bad = { string: ['', 7, null], prefix: [-1, '24'], positive: [0, '1'], ttl: [999, '60000'] };
  it.each(commands.map(([c, fields]) => [c.type, c, fields] as const))('%s', (type, command, fields) => {
    expect(parseCommand(command)).toStrictEqual(command);
    for (const [field, kind] of Object.entries(fields)) {
      for (const value of bad[kind]) expect(refusal({ ...command, [field]: value })).toMatch(new RegExp(`^${type}: field "${field}" must be `));
    }
  });
});
