import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ApplyFailure,
  IpamStateMachine,
  importSeedState,
  IpAllocator,
  NodeSliceAllocator,
  OverlayError,
  type AllocationResult,
  type ApplyResult,
  type CommandResult,
  type IpamCommand,
  type SlicesAssigned,
  type SlicesReleased,
  type SeedImport,
} from '../src/index.js';
import { encodeEntry } from '../src/index.js';
import { formatAddress, parseAddress, parseCidr } from '../src/ipam/address.js';
import { injectStepFailure } from '../src/ipam/state-machine.js';
import { commandArb, setupCommands } from './support/ipam-workload.js';
import { runs } from './support/runs.js';
import { frame, payloadOf } from './support/snapshot-frame.js';

function ok<T>(r: ApplyResult<T>): T;
function ok<T>(r: ApplyResult): T;
function ok<T>(r: ApplyResult): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value as T;
}
function err(r: ApplyResult): string {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error.code;
}
function setup(): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const c of setupCommands) ok(sm.apply(c));
  return sm;
}

describe('IpamStateMachine: commands', () => {
  it('configures networks idempotently and refuses a conflicting reconfiguration', () => {
    const sm = setup();
    expect(ok<{ created: boolean }>(sm.apply({ type: 'configureNetwork', name: 'v4', cidr: '10.200.0.0/24', slicePrefix: 28 })).created).toBe(false);
    expect(err(sm.apply({ type: 'configureNetwork', name: 'v4', cidr: '10.200.0.0/24', slicePrefix: 26 }))).toBe('NetworkExists');
    expect(err(sm.apply({ type: 'configureNetwork', name: 'x', cidr: '10.0.0.0/8', slicePrefix: 24, pair: 'tiny' }))).toBe('InvalidCommand');
    expect(err(sm.apply({ type: 'configureNetwork', name: 'x', cidr: 'fd01::/48', slicePrefix: 64, pair: 'v4' }))).toBe('InvalidCommand');
    expect(err(sm.apply({ type: 'configureNetwork', name: 'x', cidr: 'nope', slicePrefix: 24 }))).toBe('InvalidCidr');
    expect(sm.networks().map((n) => n.name)).toEqual(['tiny', 'v4', 'v6']);
  });

  it('paired networks give a node both slices in one command, and release both', () => {
    const sm = setup();
    const { slices } = ok<{ slices: Record<string, string> }>(sm.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n1' }));
    expect(Object.keys(slices).sort()).toEqual(['v4', 'v6']);
    expect(sm.sliceOf('v6', 'n1')).toBe(slices.v6);
    ok(sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n1', owner: 'c1' }));
    ok(sm.apply({ type: 'allocate', network: 'v6', nodeId: 'n1', owner: 'c1' }));
    expect(sm.addressesOf('c1').map((r) => r.network)).toEqual(['v4', 'v6']);
    const released = ok<{ released: Record<string, string>; addressesReleased: number }>(sm.apply({ type: 'releaseSlice', network: 'v6', nodeId: 'n1' }));
    expect(released.addressesReleased).toBe(2);
    expect(sm.sliceOf('v4', 'n1')).toBeUndefined();
    expect(sm.addressesOf('c1')).toEqual([]);
  });

  it('a paired assignment that cannot complete changes nothing', () => {
    const sm = new IpamStateMachine();
    ok(sm.apply({ type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/24', slicePrefix: 26 })); // 4 slices
    ok(sm.apply({ type: 'configureNetwork', name: 'b', cidr: 'fd00::/63', slicePrefix: 64, pair: 'a' })); // 2 slices
    ok(sm.apply({ type: 'assignSlice', network: 'a', nodeId: 'x' }));
    ok(sm.apply({ type: 'assignSlice', network: 'a', nodeId: 'y' }));
    const before = sm.stateHash();
    expect(err(sm.apply({ type: 'assignSlice', network: 'a', nodeId: 'z' }))).toBe('NoAvailableSlices');
    expect(sm.stateHash()).toBe(before);
    expect(sm.sliceOf('a', 'z')).toBeUndefined();
  });

  it('owner handles: same owner gets the same address; other node conflicts; release by owner', () => {
    const sm = setup();
    ok(sm.apply({ type: 'assignSlice', network: 'tiny', nodeId: 'n1' }));
    ok(sm.apply({ type: 'assignSlice', network: 'tiny', nodeId: 'n2' }));
    const first = ok<{ address: string; generation: number; existing: boolean }>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1', owner: 'c1' }));
    const again = ok<{ address: string; generation: number; existing: boolean }>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1', owner: 'c1' }));
    expect(again).toMatchObject({ address: first.address, generation: first.generation, existing: true });
    expect(err(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n2', owner: 'c1' }))).toBe('OwnerConflict');
    expect(sm.ownerOf('tiny', first.address)).toBe('c1');
    expect(ok<{ released: unknown[] }>(sm.apply({ type: 'releaseOwner', owner: 'c1' })).released).toEqual([{ network: 'tiny', address: first.address }]);
    expect(sm.ownerOf('tiny', first.address)).toBeUndefined();
  });

  it('a release carrying a stale generation is rejected and frees nothing', () => {
    const sm = setup();
    ok(sm.apply({ type: 'assignSlice', network: 'tiny', nodeId: 'n1' }));
    const a = ok<{ address: string; generation: number }>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1', owner: 'old' }));
    ok(sm.apply({ type: 'release', network: 'tiny', address: a.address, generation: a.generation }));
    const b = ok<{ address: string; generation: number }>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1', owner: 'new' }));
    expect(b.address).toBe(a.address); // lowest free: the same address comes back…
    expect(b.generation).not.toBe(a.generation); // …under a new generation
    expect(err(sm.apply({ type: 'release', network: 'tiny', address: a.address, generation: a.generation }))).toBe('StaleGeneration');
    expect(sm.ownerOf('tiny', b.address)).toBe('new');
  });

  it('allocation stays inside the node slice and refuses reserved, foreign and out-of-slice addresses', () => {
    const sm = setup();
    const { slices } = ok<{ slices: Record<string, string> }>(sm.apply({ type: 'assignSlice', network: 'tiny', nodeId: 'n1' }));
    const slice = new IpAllocator(slices.tiny as string);
    const got = [1, 2, 3].map(() => sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1' }));
    expect(got.slice(0, 2).map((r) => ok<{ address: string }>(r).address)).toEqual([slice.allocate(), slice.allocate()]);
    expect(err(got[2] as ApplyResult)).toBe('NoAvailableIps'); // a /30 has two hosts
    expect(err(sm.apply({ type: 'allocateSpecific', network: 'tiny', nodeId: 'n1', address: slice.networkAddr() }))).toBe('ReservedAddress');
    expect(err(sm.apply({ type: 'allocateSpecific', network: 'tiny', nodeId: 'n1', address: 'fd00::1' }))).toBe('AddressFamilyMismatch');
    expect(err(sm.apply({ type: 'allocateSpecific', network: 'tiny', nodeId: 'n1', address: '192.0.3.1' }))).toBe('IpNotInRange');
    expect(err(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'ghost' }))).toBe('NodeHasNoSlice');
    expect(err(sm.apply({ type: 'allocate', network: 'nope', nodeId: 'n1' }))).toBe('UnknownNetwork');
    expect(sm.sliceUsage('tiny', 'n1')).toEqual({ slice: slices.tiny, allocated: 2, total: 2n, available: 0n });
  });

  it('bad commands are rejected with InvalidCommand and change nothing', () => {
    const sm = setup();
    const before = sm.stateHash();
    const bad: unknown[] = [null, 42, 'assign', [], {}, { type: 'explode' }, { type: 'allocate', network: 'v4' }, { type: 'allocate', network: 'v4', nodeId: 'n1', extra: 1 },
      { type: 'configureNetwork', name: 'x', cidr: '10.0.0.0/8', slicePrefix: 1.5 }, { type: 'release', network: 'v4', address: '10.200.0.1', generation: -1 },
      { type: 'allocate', network: 'v4', nodeId: 'x'.repeat(300) }, { type: 'assignSlice', network: 'v4', nodeId: '\udc00' }, { type: '__proto__' }];
    for (const c of bad) expect(err(sm.apply(c))).toBe('InvalidCommand');
    expect(sm.stateHash()).toBe(before);
  });
});

describe('IpamStateMachine: determinism (property)', () => {
  it('a replica restored from a snapshot at a random point, fed the rest, gives the same results and hash', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 20, maxLength: 150 }), fc.nat(), (commands, cut) => {
        const at = cut % (commands.length + 1);
        const primary = setup();
        const results = commands.map((c) => primary.apply(c));
        const replica = setup();
        for (const c of commands.slice(0, at)) replica.apply(c);
        const restored = new IpamStateMachine();
        restored.restore(replica.snapshot());
        expect(restored.stateHash()).toBe(replica.stateHash());
        const rest = commands.slice(at).map((c) => restored.apply(c));
        expect(rest).toEqual(results.slice(at));
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(primary.snapshot()))).toBe(true);
      }),
      { numRuns: runs(200) },
    );
  });

  it('no address is ever granted twice while held, and every granted address is in the state', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 20, maxLength: 200 }), (commands) => {
        const sm = setup();
        const held = new Map<string, number>(); // network/address → generation
        for (const c of commands) {
          const r = sm.apply(c);
          if (!r.ok) continue;
          const v = r.value;
          if ((c.type === 'allocate' || c.type === 'allocateFirst' || c.type === 'allocateSpecific' || c.type === 'mark') && 'generation' in v) {
            const key = `${c.network}/${v.address}`;
            if (!v.existing) {
              expect(held.has(key)).toBe(false);
              held.set(key, v.generation);
            } else {
              expect(held.get(key)).toBe(v.generation);
            }
          }
          // Drop what the state says is gone (releases of every kind).
          for (const key of [...held.keys()]) {
            const [network, address] = key.split(/\/(.*)/s) as [string, string];
            if (!sm.allocationOf(network, address)) held.delete(key);
          }
        }
        for (const [key, generation] of held) {
          const [network, address] = key.split(/\/(.*)/s) as [string, string];
          expect(sm.allocationOf(network, address)?.generation).toBe(generation);
        }
      }),
      { numRuns: runs(200) },
    );
  });
});

describe('IpamStateMachine: snapshot decoding is all-or-nothing', () => {
  function populated(): IpamStateMachine {
    const sm = setup();
    const commands: IpamCommand[] = [
      { type: 'assignSlice', network: 'v4', nodeId: 'n1' },
      { type: 'assignSlice', network: 'tiny', nodeId: 'n2' },
      { type: 'allocate', network: 'v4', nodeId: 'n1', owner: 'c1' },
      { type: 'allocate', network: 'v6', nodeId: 'n1', owner: 'c2' },
      { type: 'allocate', network: 'v4', nodeId: 'n1' },
      { type: 'allocate', network: 'tiny', nodeId: 'n2' },
    ];
    for (const c of commands) ok(sm.apply(c));
    return sm;
  }

  it('rejects every truncation and every single-byte corruption without changing state', () => {
    const source = populated();
    const bytes = source.snapshot();
    const target = setup();
    ok(target.apply({ type: 'assignSlice', network: 'tiny', nodeId: 'keep' }));
    const before = target.stateHash();
    for (let n = 0; n < bytes.length; n++) {
      expect(() => target.restore(bytes.subarray(0, n))).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
    }
    for (let i = 0; i < bytes.length; i++) {
      const corrupt = Uint8Array.from(bytes);
      corrupt[i] = (corrupt[i] as number) ^ 0x5a;
      expect(() => target.restore(corrupt)).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
    }
    expect(target.stateHash()).toBe(before);
    target.restore(bytes);
    expect(target.stateHash()).toBe(source.stateHash());
  });

  it('rejects random bytes and well-framed but inconsistent payloads', () => {
    const sm = setup();
    const before = sm.stateHash();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(() => sm.restore(bytes)).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
      }),
      { numRuns: runs(500) },
    );
    expect(sm.stateHash()).toBe(before);
  });
});

describe('seed state import', () => {
  it('turns seed JSON files into commands that rebuild the same placement and addresses', () => {
    const slices = new NodeSliceAllocator('10.200.0.0/16', 28);
    const sliceA = slices.assign('node-a');
    slices.assign('node-b');
    const agent = new IpAllocator(sliceA);
    agent.allocate();
    agent.allocateSpecific(agent.allocatedIps()[0]!.replace(/\.\d+$/, (m) => `.${Number(m.slice(1)) + 5}`));
    const commands = importSeedState({ network: 'overlay', slices: JSON.parse(JSON.stringify(slices.snapshot())), allocators: [JSON.parse(JSON.stringify(agent.toState()))] });
    const sm = new IpamStateMachine();
    for (const c of commands) ok(sm.apply(c));
    expect(sm.sliceOf('overlay', 'node-a')).toBe(sliceA);
    expect(sm.sliceOf('overlay', 'node-b')).toBe(slices.sliceFor('node-b'));
    expect(agent.allocatedIps().every((ip) => sm.allocationOf('overlay', ip)?.nodeId === 'node-a')).toBe(true);
    expect(() => importSeedState({ network: 'o', slices: slices.snapshot(), allocators: [{ cidr: '10.9.0.0/28', allocated: [] }] })).toThrow(expect.objectContaining({ code: 'InvalidState' }));
  });

  it('validates every input with a code, and never returns a command apply() would refuse as InvalidCommand', () => {
    const slices = new NodeSliceAllocator('10.200.0.0/16', 28);
    slices.assign('node-a');
    const snapshot = slices.snapshot();
    const bad: unknown[] = [
      null,
      42,
      [],
      {},
      { slices: snapshot },
      { network: '', slices: snapshot },
      { network: 'x'.repeat(300), slices: snapshot },
      { network: '\udc00', slices: snapshot },
      { network: 7, slices: snapshot },
      { network: 'pods', slices: snapshot, allocators: 'agent.json' },
      { network: 'pods', slices: null },
      { network: 'pods', slices: snapshot, allocators: [null] },
    ];
    for (const input of bad) {
      expect(() => importSeedState(input as SeedImport)).toThrow(expect.objectContaining({ code: 'InvalidState' }));
    }
    const sm = new IpamStateMachine();
    for (const c of importSeedState({ network: 'pods', slices: snapshot })) ok(sm.apply(c));
    expect(sm.sliceOf('pods', 'node-a')).toBe(slices.sliceFor('node-a'));
  });
});

describe('IpamStateMachine: arbitrary input never throws and never changes state when refused', () => {
  it('apply(anything) returns a result; a refused command leaves the hash unchanged', () => {
    const sm = setup();
    ok(sm.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n9' }));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), commandArb.map((c) => ({ ...c, extra: 1 })), fc.record({ type: fc.constantFrom('allocate', 'release', 'configureNetwork'), network: fc.anything(), nodeId: fc.anything(), address: fc.anything(), cidr: fc.anything(), slicePrefix: fc.anything() }, { requiredKeys: ['type'] })), (input) => {
        const before = sm.stateHash();
        const r = sm.apply(input);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) {
          expect(r.error.code).toMatch(/^[A-Z][A-Za-z]+$/);
          expect(r.error.message).not.toMatch(/^internal error/); // every refusal is a deliberate check
          expect(sm.stateHash()).toBe(before);
        }
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('IpamStateMachine: typed results and all-or-nothing commands', () => {
  it('apply() of a literal command is typed by its command type; untrusted input gets the union', () => {
    const sm = setup();
    const assigned = sm.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n7' });
    expectTypeOf(assigned).toEqualTypeOf<ApplyResult<SlicesAssigned>>();
    const r = sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n7', owner: 'c1' });
    expectTypeOf(r).toEqualTypeOf<ApplyResult<AllocationResult>>();
    if (!r.ok) throw new Error(r.error.message);
    // No cast: the fields are those of AllocationResult.
    expect(r.value.address).toBe(sm.addressesOf('c1')[0]?.address);
    expect(r.value.generation).toBeGreaterThan(0);
    const untrusted: unknown = { type: 'releaseOwner', owner: 'c1' };
    expectTypeOf(sm.apply(untrusted)).toEqualTypeOf<ApplyResult<CommandResult>>();
  });

  it('an internal failure in the second half of a paired slice assignment throws ApplyFailure and leaves the state as it was', () => {
    const sm = setup();
    const before = sm.stateHash();
    injectStepFailure(sm, 1); // step 0 places n9 in v4, step 1 (its v6 slice) fails
    let thrown: unknown;
    try {
      sm.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n9' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ApplyFailure);
    expect(thrown).toMatchObject({ code: 'Internal', commandType: 'assignSlice', stateIntact: true });
    expect(thrown).not.toBeInstanceOf(OverlayError);
    expect(sm.stateHash()).toBe(before);
    expect(sm.sliceOf('v4', 'n9')).toBeUndefined();
    injectStepFailure(sm, undefined);
    // The same command then applies normally: nothing half-done was left behind to conflict with.
    expect(Object.keys(ok<SlicesAssigned>(sm.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n9' })).slices).sort()).toEqual(['v4', 'v6']);
  });

  it('a failure injected at any step of any command leaves the state hash unchanged (property)', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 5, maxLength: 80 }), fc.array(fc.nat({ max: 6 }), { minLength: 80, maxLength: 80 }), (commands, failAt) => {
        const sm = setup();
        const reference = setup();
        commands.forEach((c, i) => {
          const before = sm.stateHash();
          injectStepFailure(sm, failAt[i]);
          let failed = false;
          try {
            sm.apply(c);
          } catch (e) {
            expect(e).toBeInstanceOf(ApplyFailure);
            failed = true;
          }
          injectStepFailure(sm, undefined);
          if (failed) expect(sm.stateHash()).toBe(before);
          else reference.apply(c);
          // With the failed commands left out, the replica matches one that never saw them.
          expect(sm.stateHash()).toBe(reference.stateHash());
        });
      }),
      { numRuns: runs(60) },
    );
  });
});

describe('IpamStateMachine: allocator findings of the differential run', () => {
  it('generations are bounded: a snapshot at the last generation restores, then allocation is refused (GenerationsExhausted) and nothing repeats', () => {
    const sm = setup();
    ok(sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n1' }));
    const payload = payloadOf(sm.snapshot());
    const near = new IpamStateMachine();
    near.restore(frame([Number.MAX_SAFE_INTEGER - 1, payload[1], payload[2]]));
    const last = ok<AllocationResult>(near.apply({ type: 'allocate', network: 'v4', nodeId: 'n1' }));
    expect(last.generation).toBe(Number.MAX_SAFE_INTEGER - 1);
    const before = near.stateHash();
    const r = near.apply({ type: 'allocate', network: 'v4', nodeId: 'n1' });
    expect(err(r)).toBe('GenerationsExhausted');
    expect(near.stateHash()).toBe(before);
    // A snapshot whose counter is past the bound is refused outright.
    expect(() => new IpamStateMachine().restore(frame([Number.MAX_SAFE_INTEGER + 1, payload[1], payload[2]]))).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
  });

  it('network names that are Object.prototype keys come back in results like any other name', () => {
    const sm = new IpamStateMachine();
    ok(sm.apply({ type: 'configureNetwork', name: '__proto__', cidr: '10.0.0.0/24', slicePrefix: 28 }));
    ok(sm.apply({ type: 'configureNetwork', name: 'constructor', cidr: 'fd00::/60', slicePrefix: 64, pair: '__proto__' }));
    ok(sm.apply({ type: 'configureNetwork', name: 'toString', cidr: '10.1.0.0/24', slicePrefix: 28 }));
    const paired = ok<SlicesAssigned>(sm.apply({ type: 'assignSlice', network: '__proto__', nodeId: 'n1' })).slices;
    expect(Object.keys(paired).sort()).toEqual(['__proto__', 'constructor']);
    expect(paired['__proto__']).toBe(sm.sliceOf('__proto__', 'n1'));
    expect(paired['constructor']).toBe(sm.sliceOf('constructor', 'n1'));
    expect(JSON.parse(JSON.stringify({ slices: paired })).slices).toEqual({ ['__proto__']: sm.sliceOf('__proto__', 'n1'), constructor: sm.sliceOf('constructor', 'n1') });
    const single = ok<SlicesAssigned>(sm.apply({ type: 'assignSlice', network: 'toString', nodeId: 'n1' })).slices;
    expect(Object.entries(single)).toEqual([['toString', sm.sliceOf('toString', 'n1')]]);
    const released = ok<SlicesReleased>(sm.apply({ type: 'releaseSlice', network: 'constructor', nodeId: 'n1' }));
    expect(Object.entries(released.released).sort()).toEqual([['__proto__', paired['__proto__']], ['constructor', paired['constructor']]]);
  });

  it('an assigned slice with no addresses holds no bitmap, live or restored, and gives it back when emptied', () => {
    const sm = new IpamStateMachine();
    ok(sm.apply({ type: 'configureNetwork', name: 'big', cidr: '10.0.0.0/8', slicePrefix: 24 }));
    for (let i = 0; i < 2048; i++) ok(sm.apply({ type: 'assignSlice', network: 'big', nodeId: `node-${i}` }));
    expect(sm.reservedBytes()).toBe(0);
    const a = ok(sm.apply({ type: 'allocate', network: 'big', nodeId: 'node-7' }));
    expect(sm.reservedBytes()).toBeGreaterThan(0);
    const restored = new IpamStateMachine();
    restored.restore(sm.snapshot());
    expect(restored.reservedBytes()).toBe(sm.reservedBytes()); // only node-7's block has one
    ok(sm.apply({ type: 'release', network: 'big', address: a.address }));
    expect(sm.reservedBytes()).toBe(0);
    expect(sm.networkUsage('big')).toMatchObject({ slicesAssigned: 2048, addressesAllocated: 0 });
  });
});

describe('IpamStateMachine: every command result, and the hash follows the state', () => {
  /** Apply, require success, and require that the state hash moved. */
  function changes<T>(sm: IpamStateMachine, c: IpamCommand): T {
    const before = sm.stateHash();
    const value = ok<T>(sm.apply(c));
    expect(sm.stateHash()).not.toBe(before);
    return value;
  }
  /** Apply, require success, and require that nothing changed. */
  function keeps<T>(sm: IpamStateMachine, c: IpamCommand): T {
    const before = sm.stateHash();
    const value = ok<T>(sm.apply(c));
    expect(sm.stateHash()).toBe(before);
    return value;
  }
  function refuses(sm: IpamStateMachine, c: IpamCommand): string {
    const before = sm.stateHash();
    const code = err(sm.apply(c));
    expect(sm.stateHash()).toBe(before);
    return code;
  }

  it('configureNetwork: created, idempotent, and a different CIDR or pair under the same name is NetworkExists', () => {
    const sm = new IpamStateMachine();
    expect(changes(sm, { type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/16', slicePrefix: 24 })).toEqual({ network: 'a', cidr: '10.0.0.0/16', slicePrefix: 24, created: true });
    expect(changes(sm, { type: 'configureNetwork', name: 'b', cidr: 'fd00::/56', slicePrefix: 64, pair: 'a' })).toEqual({ network: 'b', cidr: 'fd00::/56', slicePrefix: 64, pair: 'a', created: true });
    expect(changes(sm, { type: 'configureNetwork', name: 'c', cidr: 'fd01::/56', slicePrefix: 64 })).toEqual({ network: 'c', cidr: 'fd01::/56', slicePrefix: 64, created: true });
    expect(keeps(sm, { type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/16', slicePrefix: 24 })).toEqual({ network: 'a', cidr: '10.0.0.0/16', slicePrefix: 24, pair: 'b', created: false });
    expect(keeps(sm, { type: 'configureNetwork', name: 'b', cidr: 'fd00:0::/56', slicePrefix: 64, pair: 'a' })).toMatchObject({ created: false, pair: 'a' });
    expect(refuses(sm, { type: 'configureNetwork', name: 'a', cidr: '10.1.0.0/16', slicePrefix: 24 })).toBe('NetworkExists'); // same prefix, other CIDR
    expect(refuses(sm, { type: 'configureNetwork', name: 'b', cidr: 'fd00::/56', slicePrefix: 64, pair: 'c' })).toBe('NetworkExists'); // other pair
    expect(refuses(sm, { type: 'configureNetwork', name: 'd', cidr: '10.9.0.0/16', slicePrefix: 24, pair: 'b' })).toBe('InvalidCommand'); // b is taken
    expect(refuses(sm, { type: 'configureNetwork', name: 'd', cidr: '10.9.0.0/16', slicePrefix: 24, pair: 'nope' })).toBe('UnknownNetwork');
    expect(sm.networks()).toEqual([
      { name: 'a', cidr: '10.0.0.0/16', slicePrefix: 24, pair: 'b' },
      { name: 'b', cidr: 'fd00::/56', slicePrefix: 64, pair: 'a' },
      { name: 'c', cidr: 'fd01::/56', slicePrefix: 64 },
    ]);
  });

  it('assignSlice / assignSpecificSlice: the requested slice, idempotent, NodeHasSlice and SliceTaken', () => {
    const sm = new IpamStateMachine();
    ok(sm.apply({ type: 'configureNetwork', name: 'a', cidr: '10.0.0.0/16', slicePrefix: 24 }));
    const placed = new NodeSliceAllocator('10.0.0.0/16', 24);
    expect(changes(sm, { type: 'assignSlice', network: 'a', nodeId: 'n1' })).toEqual({ slices: { a: placed.assign('n1') } });
    expect(keeps(sm, { type: 'assignSlice', network: 'a', nodeId: 'n1' })).toEqual({ slices: { a: placed.sliceFor('n1') } });
    // A slice the hash would never pick for n2.
    const wanted = ['10.0.200.0/24', '10.0.201.0/24'].find((s) => s !== placed.assign('n2')) as string;
    expect(changes(sm, { type: 'assignSpecificSlice', network: 'a', nodeId: 'n2', slice: wanted })).toEqual({ slices: { a: wanted } });
    expect(sm.sliceOf('a', 'n2')).toBe(wanted);
    expect(keeps(sm, { type: 'assignSpecificSlice', network: 'a', nodeId: 'n2', slice: wanted })).toEqual({ slices: { a: wanted } });
    expect(refuses(sm, { type: 'assignSpecificSlice', network: 'a', nodeId: 'n2', slice: '10.0.202.0/24' })).toBe('NodeHasSlice');
    expect(refuses(sm, { type: 'assignSpecificSlice', network: 'a', nodeId: 'n3', slice: wanted })).toBe('SliceTaken');
    expect(refuses(sm, { type: 'assignSpecificSlice', network: 'a', nodeId: 'n3', slice: '10.0.202.5/24' })).toBe('InvalidCidr');
    expect(refuses(sm, { type: 'assignSlice', network: 'a', nodeId: 'x'.repeat(254) })).toBe('InvalidNodeId');
    expect(sm.networkUsage('a')).toEqual({ name: 'a', cidr: '10.0.0.0/16', slicePrefix: 24, slicesAssigned: 2, sliceCapacity: 256n, addressesAllocated: 0 });
  });

  it('releaseSlice on an unpaired network frees the slice and its addresses; a node without one releases nothing', () => {
    const sm = setup();
    ok(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n2', owner: 'c9' }));
    ok(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n2' }));
    const slice = sm.sliceOf('tiny', 'n2');
    expect(changes(sm, { type: 'releaseSlice', network: 'tiny', nodeId: 'n2' })).toEqual({ released: { tiny: slice }, addressesReleased: 2 });
    expect(sm.sliceOf('tiny', 'n2')).toBeUndefined();
    expect(sm.addressesOf('c9')).toEqual([]);
    expect(keeps(sm, { type: 'releaseSlice', network: 'tiny', nodeId: 'n2' })).toEqual({ released: {}, addressesReleased: 0 });
    expect(changes(sm, { type: 'assignSlice', network: 'tiny', nodeId: 'n2' })).toEqual({ slices: { tiny: slice } }); // the slice is free again
  });

  it('allocate, allocateFirst, allocateSpecific and mark: every result field', () => {
    const sm = setup();
    const slice = new IpAllocator(sm.sliceOf('v4', 'n1') as string); // 14 usable hosts, lowest first
    const next = (): string => slice.allocate() as string;
    const [h1, h2, h3, h4] = [next(), next(), next(), next()] as const;
    const first = changes<AllocationResult>(sm, { type: 'allocateFirst', network: 'v4', nodeId: 'n1', owner: 'f' });
    expect(first).toEqual({ network: 'v4', nodeId: 'n1', address: h1, generation: 1, owner: 'f', existing: false });
    expect(refuses(sm, { type: 'allocateFirst', network: 'v4', nodeId: 'n1' })).toBe('IpAlreadyAllocated');
    expect(keeps(sm, { type: 'allocateFirst', network: 'v4', nodeId: 'n1', owner: 'f' })).toEqual({ ...first, existing: true });
    const specific = changes<AllocationResult>(sm, { type: 'allocateSpecific', network: 'v4', nodeId: 'n1', address: h3, owner: 's' });
    expect(specific).toEqual({ network: 'v4', nodeId: 'n1', address: h3, generation: 2, owner: 's', existing: false });
    expect(sm.allocationOf('v4', h3)).toEqual({ network: 'v4', nodeId: 'n1', address: h3, generation: 2, owner: 's' });
    expect(keeps(sm, { type: 'allocateSpecific', network: 'v4', nodeId: 'n1', address: h3, owner: 's' })).toEqual({ ...specific, existing: true });
    expect(refuses(sm, { type: 'allocateSpecific', network: 'v4', nodeId: 'n1', address: h4, owner: 's' })).toBe('OwnerConflict');
    expect(refuses(sm, { type: 'allocateSpecific', network: 'v4', nodeId: 'n1', address: h3 })).toBe('IpAlreadyAllocated');
    expect(refuses(sm, { type: 'allocateSpecific', network: 'v4', nodeId: 'n1', address: h3, owner: 'other' })).toBe('IpAlreadyAllocated');
    const lowest = changes<AllocationResult>(sm, { type: 'allocate', network: 'v4', nodeId: 'n1' });
    expect(lowest).toEqual({ network: 'v4', nodeId: 'n1', address: h2, generation: 3, existing: false }); // the gap below h3
    expect(Object.hasOwn(lowest, 'owner')).toBe(false);
    expect(changes(sm, { type: 'mark', network: 'v4', nodeId: 'n1', address: h4 })).toEqual({ network: 'v4', nodeId: 'n1', address: h4, generation: 4, existing: false });
    expect(keeps(sm, { type: 'mark', network: 'v4', nodeId: 'n1', address: h3 })).toEqual({ network: 'v4', nodeId: 'n1', address: h3, generation: 2, owner: 's', existing: true });
    expect(sm.sliceUsage('v4', 'n1')).toEqual({ slice: slice.cidr(), allocated: 4, total: 14n, available: 10n });
  });

  it('release: released true, then false; a generation must match; the address comes back canonical', () => {
    const sm = setup();
    const a = ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'v6', nodeId: 'n1' }));
    const spelled = a.address.toUpperCase().replace('::', ':0::');
    expect(changes(sm, { type: 'release', network: 'v6', address: spelled })).toEqual({ released: true, address: a.address });
    expect(sm.allocationOf('v6', a.address)).toBeUndefined();
    expect(keeps(sm, { type: 'release', network: 'v6', address: a.address })).toEqual({ released: false, address: a.address });
    const b = ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'v6', nodeId: 'n1' }));
    expect(refuses(sm, { type: 'release', network: 'v6', address: b.address, generation: b.generation + 1 })).toBe('StaleGeneration');
    expect(changes(sm, { type: 'release', network: 'v6', address: b.address, generation: b.generation })).toEqual({ released: true, address: b.address });
    expect(refuses(sm, { type: 'release', network: 'v6', address: '10.200.0.1' })).toBe('AddressFamilyMismatch');
    expect(keeps(sm, { type: 'release', network: 'v6', address: 'fd00:9::1' })).toEqual({ released: false, address: 'fd00:9::1' }); // outside every slice
  });

  it('releaseOwner: all networks in name order, or only the one named', () => {
    const sm = new IpamStateMachine();
    // Configured out of name order: results must not depend on insertion (a restored replica sorts).
    for (const [name, cidr] of [['zeta', '10.1.0.0/24'], ['alpha', '10.2.0.0/24'], ['mid', '10.3.0.0/24']] as const) {
      ok(sm.apply({ type: 'configureNetwork', name, cidr, slicePrefix: 28 }));
      ok(sm.apply({ type: 'assignSlice', network: name, nodeId: 'n1' }));
    }
    const got = ['zeta', 'alpha', 'mid'].map((network) => ok<AllocationResult>(sm.apply({ type: 'allocate', network, nodeId: 'n1', owner: 'o' })).address);
    expect(sm.addressesOf('o').map((r) => r.network)).toEqual(['alpha', 'mid', 'zeta']);
    expect(changes(sm, { type: 'releaseOwner', owner: 'o', network: 'mid' })).toEqual({ released: [{ network: 'mid', address: got[2] }] });
    expect(sm.addressesOf('o').map((r) => r.network)).toEqual(['alpha', 'zeta']);
    const restored = new IpamStateMachine();
    restored.restore(sm.snapshot());
    const expected = { released: [{ network: 'alpha', address: got[1] }, { network: 'zeta', address: got[0] }] };
    expect(changes(sm, { type: 'releaseOwner', owner: 'o' })).toEqual(expected);
    expect(changes(restored, { type: 'releaseOwner', owner: 'o' })).toEqual(expected);
    expect(keeps(sm, { type: 'releaseOwner', owner: 'o' })).toEqual({ released: [] });
    expect(refuses(sm, { type: 'releaseOwner', owner: 'o', network: 'nope' })).toBe('UnknownNetwork');
  });

  it('queries on unknown names answer undefined', () => {
    const sm = setup();
    expect(sm.networkUsage('nope')).toBeUndefined();
    expect(sm.sliceUsage('nope', 'n1')).toBeUndefined();
    expect(sm.sliceUsage('v4', 'ghost')).toBeUndefined();
    expect(sm.sliceOf('nope', 'n1')).toBeUndefined();
    expect(sm.sliceOf('v4', 'ghost')).toBeUndefined();
    expect(sm.allocationOf('nope', '10.200.0.1')).toBeUndefined();
    expect(sm.allocationOf('v4', '10.200.0.1')).toBeUndefined();
    expect(sm.ownerOf('v4', '10.200.0.1')).toBeUndefined();
    expect(sm.addressesOf('nobody')).toEqual([]);
  });

  it('on random streams, a command that reports a change moves the hash and one that reports none does not (property)', () => {
    const changed = (c: IpamCommand, v: CommandResult): boolean | undefined => {
      if ('existing' in v) return !v.existing;
      if (c.type === 'release' && 'released' in v) return v.released === true;
      if (c.type === 'releaseOwner' && 'released' in v) return (v.released as unknown[]).length > 0;
      if (c.type === 'releaseSlice' && 'released' in v) return Object.keys(v.released).length > 0;
      return undefined; // assignSlice: may or may not be new
    };
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 10, maxLength: 100 }), (commands) => {
        const sm = setup();
        for (const c of commands) {
          const before = sm.stateHash();
          const r = sm.apply(c);
          const moved = sm.stateHash() !== before;
          if (!r.ok) expect(moved).toBe(false);
          else {
            const expected = changed(c, r.value);
            if (expected !== undefined) expect(moved).toBe(expected);
          }
        }
      }),
      { numRuns: runs(150) },
    );
  });
});

describe('listing queries', () => {
  it('slices() and allocations() enumerate in slice order, filter by node, and stop at the limit', () => {
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    for (const node of ['w1', 'w2', 'w3']) sm.apply({ type: 'assignSlice', network: 'pods', nodeId: node });
    for (let i = 0; i < 3; i++) sm.apply({ type: 'allocate', network: 'pods', nodeId: 'w2', owner: `c${i}` });
    sm.apply({ type: 'allocate', network: 'pods', nodeId: 'w1' });
    const slices = sm.slices('pods') ?? [];
    expect(slices.map((s) => s.nodeId).sort()).toEqual(['w1', 'w2', 'w3']);
    // Ascending by position in the network: the slice CIDRs sort numerically.
    const starts = slices.map((s) => Number((s.slice.split('.')[2] as string)));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(slices.find((s) => s.nodeId === 'w2')).toMatchObject({ allocated: 3, total: 254n, available: 251n });
    const all = sm.allocations('pods') ?? [];
    expect(all).toHaveLength(4);
    expect(all.every((r) => sm.allocationOf('pods', r.address)?.generation === r.generation)).toBe(true);
    const w2 = sm.allocations('pods', { nodeId: 'w2' }) ?? [];
    expect(w2.map((r) => r.owner)).toEqual(['c0', 'c1', 'c2']);
    expect(sm.allocations('pods', { limit: 2 })).toHaveLength(2);
    expect(sm.allocations('pods', { nodeId: 'nobody' })).toEqual([]);
    expect(sm.slices('nope')).toBeUndefined();
    expect(sm.allocations('nope')).toBeUndefined();
  });
});

describe('allocations(): the `after` page cursor', () => {
  const NETS = [
    { cidr: '10.200.0.0/16', slicePrefix: 24 },
    { cidr: 'fd00::/48', slicePrefix: 112 }, // number offsets
    { cidr: 'fd00:1::/56', slicePrefix: 64 }, // bigint offsets
  ];
  const value = (address: string): bigint => parseAddress(address).value;

  it('pages (limit k, then after = the last address listed) concatenate to the whole listing; any cursor in the CIDR lists exactly the addresses above it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NETS),
        fc.array(fc.record({ node: fc.integer({ min: 0, max: 3 }), release: fc.boolean() }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.bigInt({ min: 0n, max: (1n << 16n) - 1n }),
        ({ cidr, slicePrefix }, ops, k, probe) => {
          const sm = new IpamStateMachine();
          sm.apply({ type: 'configureNetwork', name: 'n', cidr, slicePrefix });
          for (const nodeId of ['w2', 'w0', 'w3']) sm.apply({ type: 'assignSlice', network: 'n', nodeId });
          for (const op of ops) {
            const nodeId = `w${op.node}`;
            const r = sm.apply({ type: 'allocate', network: 'n', nodeId });
            if (r.ok && op.release) sm.apply({ type: 'release', network: 'n', address: (r.value as { address: string }).address });
          }
          const all = sm.allocations('n') ?? [];
          const pages: string[] = [];
          let after: string | undefined;
          for (;;) {
            const page = sm.allocations('n', { limit: k + 1, ...(after !== undefined ? { after } : {}) }) ?? [];
            pages.push(...page.slice(0, k).map((r) => r.address));
            if (page.length <= k) break;
            after = page[k - 1]?.address;
          }
          expect(pages).toEqual(all.map((r) => r.address));
          // Listing order is ascending address.
          expect(all.map((r) => value(r.address))).toEqual(all.map((r) => value(r.address)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          // A cursor anywhere in the network's first 2^16 addresses: assigned slice or not, allocated or not.
          const base = parseCidr(cidr).network;
          const cursor = formatAddress(parseCidr(cidr).family, base + probe);
          const expected = all.filter((r) => value(r.address) > base + probe);
          expect(sm.allocations('n', { after: cursor })).toEqual(expected);
          expect(sm.allocations('n', { after: cursor, nodeId: 'w0' })).toEqual(expected.filter((r) => r.nodeId === 'w0'));
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it('a cursor that is not an address of the network is refused with its code', () => {
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'n', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const code = (after: string): string | undefined => {
      try {
        sm.allocations('n', { after });
        return undefined;
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(code('10.201.0.1')).toBe('IpNotInRange');
    expect(code('fd00::1')).toBe('AddressFamilyMismatch');
    expect(code('not-an-ip')).toBe('InvalidAddress');
    expect(code('10.200.255.255')).toBeUndefined();
  });
});

describe('IpamStateMachine: edges of the embedded API', () => {
  it('an input object whose fields throw when read is an internal failure (ApplyFailure), not a refusal, and changes nothing', () => {
    const sm = setup();
    const before = sm.stateHash();
    const hostile = new Proxy({}, { get: () => { throw new Error('getter exploded'); } });
    let thrown: unknown;
    try {
      sm.apply(hostile);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ApplyFailure);
    expect(thrown).toMatchObject({ code: 'Internal', commandType: '(unparsed command)', stateIntact: true, message: 'internal error applying (unparsed command): getter exploded' });
    expect(sm.stateHash()).toBe(before);
  });

  it('queries on a free address inside an assigned slice answer undefined; records omit an absent owner', () => {
    const sm = setup();
    const a = ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n1' }));
    const b = ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n1', owner: 'o' }));
    ok(sm.apply({ type: 'release', network: 'v4', address: a.address }));
    expect(sm.allocationOf('v4', a.address)).toBeUndefined(); // in n1's slice, free again
    expect(sm.ownerOf('v4', a.address)).toBeUndefined();
    const c = ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'v4', nodeId: 'n1' }));
    expect(c.address).toBe(a.address);
    expect(sm.allocationOf('v4', c.address)).toStrictEqual({ network: 'v4', nodeId: 'n1', address: c.address, generation: c.generation });
    expect(sm.allocations('v4', { nodeId: 'n1' })).toStrictEqual([
      { network: 'v4', nodeId: 'n1', address: c.address, generation: c.generation },
      { network: 'v4', nodeId: 'n1', address: b.address, generation: b.generation, owner: 'o' },
    ]);
    expect(sm.allocations('v4', { nodeId: 'n1', limit: 1 })).toHaveLength(1);
    expect(sm.allocations('v4', { limit: 0 })).toEqual([]);
    expect(sm.addressesOf('o')).toStrictEqual([{ network: 'v4', nodeId: 'n1', address: b.address, generation: b.generation, owner: 'o' }]);
    expect(sm.slices('v4')?.find((s) => s.nodeId === 'n1')).toStrictEqual({ nodeId: 'n1', slice: sm.sliceOf('v4', 'n1'), allocated: 2, total: 14n, available: 12n });
    expect(sm.networks().find((n) => n.name === 'tiny')).toStrictEqual({ name: 'tiny', cidr: '192.0.2.0/28', slicePrefix: 30 });
  });
});

describe('IpamStateMachine: refusal messages name what was refused', () => {
  it('each refusal of the state machine itself carries its code and a message an operator can act on', () => {
    const sm = setup();
    const msg = (c: IpamCommand): string => {
      const r = sm.apply(c);
      if (r.ok) throw new Error(`expected a refusal of ${JSON.stringify(c)}`);
      return `${r.error.code}: ${r.error.message}`;
    };
    ok(sm.apply({ type: 'configureNetwork', name: 'x6', cidr: 'fd01::/60', slicePrefix: 64 }));
    expect(msg({ type: 'configureNetwork', name: 'v4', cidr: '10.200.0.0/24', slicePrefix: 26 })).toBe('NetworkExists: network "v4" already exists as 10.200.0.0/24 with /28 slices paired with "v6"');
    expect(msg({ type: 'configureNetwork', name: 'tiny', cidr: '192.0.2.0/28', slicePrefix: 29 })).toBe('NetworkExists: network "tiny" already exists as 192.0.2.0/28 with /30 slices');
    expect(msg({ type: 'configureNetwork', name: 'y', cidr: 'fd02::/60', slicePrefix: 64, pair: 'x6' })).toBe('InvalidCommand: cannot pair IPv6 network "y" with IPv6 network "x6": pairs are one IPv4 and one IPv6 network');
    expect(msg({ type: 'configureNetwork', name: 'y', cidr: '10.9.0.0/24', slicePrefix: 28, pair: 'v6' })).toBe('InvalidCommand: network "v6" is already paired with "v4"');
    expect(msg({ type: 'allocate', network: 'nope', nodeId: 'n1' })).toBe('UnknownNetwork: no network named "nope"');
    expect(msg({ type: 'allocate', network: 'v4', nodeId: 'ghost' })).toBe('NodeHasNoSlice: node "ghost" has no slice in network "v4"');
    const slice = sm.sliceOf('tiny', 'n1') as string;
    const [h1, h2] = [ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1', owner: 'o' })).address, ok<AllocationResult>(sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n1' })).address];
    expect(msg({ type: 'allocate', network: 'tiny', nodeId: 'n1' })).toBe(`NoAvailableIps: no free address in slice ${slice} of node "n1"`);
    expect(msg({ type: 'allocateFirst', network: 'tiny', nodeId: 'n1' })).toBe(`IpAlreadyAllocated: IP address ${h1} is already allocated`);
    expect(msg({ type: 'allocateSpecific', network: 'tiny', nodeId: 'n1', address: h2 })).toBe(`IpAlreadyAllocated: IP address ${h2} is already allocated`);
    expect(msg({ type: 'allocateSpecific', network: 'tiny', nodeId: 'n1', address: h2, owner: 'o' })).toBe(`OwnerConflict: owner "o" already holds ${h1} in network "tiny"`);
    expect(msg({ type: 'allocate', network: 'tiny', nodeId: 'n2', owner: 'o' })).toBe(`OwnerConflict: owner "o" already holds ${h1} on node "n1" in network "tiny"`);
    expect(msg({ type: 'release', network: 'tiny', address: h1, generation: 99 })).toBe(`StaleGeneration: release of ${h1} carries generation 99, but the current allocation has generation 1`);
    expect(msg({ type: 'release', network: 'v4', address: '10.200.0.1', generation: 1 })).toBe('StaleGeneration: release of 10.200.0.1 carries generation 1, but the address is not allocated');
    expect(msg({ type: 'release', network: 'v4', address: 'fd00::1' })).toBe('AddressFamilyMismatch: IPv6 address "fd00::1" cannot belong to IPv4 network "v4"');
  });

  it('session refusals say which session and seq, and what the client should do', () => {
    const sm = setup();
    const enc = (command: IpamCommand, session: { id: number; seq: number; ack?: number }) => sm.applyEntry(encodeEntry({ id: 1, command, session }));
    const open = sm.apply({ type: 'openSession' });
    if (!open.ok) throw new Error(open.error.message);
    const id = open.value.session;
    enc({ type: 'releaseOwner', owner: 'o' }, { id, seq: 1 });
    enc({ type: 'releaseOwner', owner: 'o' }, { id, seq: 3, ack: 3 });
    expect(enc({ type: 'release', network: 'v4', address: '10.200.0.1' }, { id, seq: 1 })).toMatchObject({ error: { code: 'SessionSeqTooOld', message: `seq 1 of session ${id} is below the acknowledged seq 3; its result was discarded and it is not executed again` } });
    expect(enc({ type: 'release', network: 'v4', address: '10.200.0.1' }, { id, seq: 3 })).toMatchObject({ error: { code: 'SessionSeqReused', message: `seq 3 of session ${id} was a releaseOwner command, not release; a retry must repeat the request` } });
    for (let seq = 4; seq < 4 + 1023; seq++) enc({ type: 'releaseOwner', owner: 'o' }, { id, seq });
    expect(enc({ type: 'releaseOwner', owner: 'o' }, { id, seq: 5000 })).toMatchObject({ error: { code: 'SessionBusy', message: `session ${id} holds 1024 unacknowledged results; acknowledge received results (ack) and retry` } });
  });
});

describe('IpamStateMachine: results carry exactly their fields', () => {
  it('configureNetwork on an unpaired network, new and again, has no pair key', () => {
    const sm = new IpamStateMachine();
    expect(sm.apply({ type: 'configureNetwork', name: 'c', cidr: 'fd01::/56', slicePrefix: 64 })).toStrictEqual({ ok: true, value: { network: 'c', cidr: 'fd01::/56', slicePrefix: 64, created: true } });
    expect(sm.apply({ type: 'configureNetwork', name: 'c', cidr: 'fd01:0::/56', slicePrefix: 64 })).toStrictEqual({ ok: true, value: { network: 'c', cidr: 'fd01::/56', slicePrefix: 64, created: false } });
  });

  it('assignSpecificSlice on a paired network places the named network at the slice and its partner by hash', () => {
    const sm = setup(); // v4 (10.200.0.0/24, /28) paired with v6 (fd00::/62, /64)
    const byHash = new IpamStateMachine();
    for (const c of setupCommands) ok(byHash.apply(c));
    ok(byHash.apply({ type: 'assignSlice', network: 'v4', nodeId: 'n9' }));
    const wanted = ['10.200.0.224/28', '10.200.0.240/28'].find((s) => s !== byHash.sliceOf('v4', 'n9') && sm.slices('v4')?.every((x) => x.slice !== s)) as string;
    const r = ok<SlicesAssigned>(sm.apply({ type: 'assignSpecificSlice', network: 'v4', nodeId: 'n9', slice: wanted }));
    expect(r.slices).toEqual({ v4: wanted, v6: byHash.sliceOf('v6', 'n9') });
    expect(sm.sliceOf('v4', 'n9')).toBe(wanted);
    expect(sm.sliceOf('v6', 'n9')).toBe(byHash.sliceOf('v6', 'n9'));
  });
});
