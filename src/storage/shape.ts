/**
 * Shape checks for values crossing the storage boundary. The same functions check a caller's arguments
 * (failing with InvalidArgument) and records read back from disk (failing with StorageCorrupt), so what
 * can be written is exactly what can be read.
 */
import type { ConfChange, ConfState, Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { StorageError, type StorageErrorCode, type StorageIdentity } from './types.js';

export class ShapeChecker {
  constructor(private readonly code: StorageErrorCode) {}

  fail(what: string, problem: string): never {
    throw new StorageError(this.code, `${what}: ${problem}`);
  }

  /** Raft indexes and terms: non-negative safe integers (src/raft/types.ts). */
  index(v: unknown, what: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(what, `must be an integer ≥ ${min}, got ${describe(v)}`);
    return v;
  }

  nodeId(v: unknown, what: string): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(what, `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  bytes(v: unknown, what: string): Uint8Array {
    if (!(v instanceof Uint8Array)) this.fail(what, `must be a Uint8Array, got ${describe(v)}`);
    return v;
  }

  hardState(v: unknown, what: string): HardState {
    const o = this.record(v, what, ['term', 'vote', 'commit']);
    const term = this.index(o.term, `${what}.term`);
    const vote = o.vote === null ? null : this.nodeId(o.vote, `${what}.vote`);
    const commit = this.index(o.commit, `${what}.commit`);
    return { term, vote, commit };
  }

  conf(v: unknown, what: string): ConfState {
    const o = this.record(v, what, ['voters', 'learners']);
    const voters = this.nodeList(o.voters, `${what}.voters`);
    const learners = this.nodeList(o.learners, `${what}.learners`);
    // A node is a voter or a learner, never both (etcd-io/raft confchange invariant).
    const both = voters.find((n) => learners.includes(n));
    if (both !== undefined) this.fail(what, `node ${JSON.stringify(both)} is both voter and learner`);
    return { voters, learners };
  }

  snapshotMeta(v: unknown, what: string): SnapshotMeta {
    const o = this.record(v, what, ['index', 'term', 'conf']);
    // A snapshot covers at least one entry, and every entry has term ≥ 1.
    return { index: this.index(o.index, `${what}.index`, 1), term: this.index(o.term, `${what}.term`, 1), conf: this.conf(o.conf, `${what}.conf`) };
  }

  confChange(v: unknown, what: string): ConfChange {
    const o = this.record(v, what, ['op', 'node']);
    if (o.op !== 'addVoter' && o.op !== 'addLearner' && o.op !== 'remove') this.fail(`${what}.op`, `must be addVoter, addLearner or remove, got ${describe(o.op)}`);
    return { op: o.op, node: this.nodeId(o.node, `${what}.node`) };
  }

  entry(v: unknown, what: string): Entry {
    if (typeof v !== 'object' || v === null) this.fail(what, `must be an object, got ${describe(v)}`);
    const type = (v as { type?: unknown }).type;
    if (type === 'normal') {
      const o = this.record(v, what, ['term', 'index', 'type', 'data']);
      return { term: this.index(o.term, `${what}.term`, 1), index: this.index(o.index, `${what}.index`, 1), type, data: this.bytes(o.data, `${what}.data`) };
    }
    if (type === 'conf') {
      const o = this.record(v, what, ['term', 'index', 'type', 'change']);
      return { term: this.index(o.term, `${what}.term`, 1), index: this.index(o.index, `${what}.index`, 1), type, change: this.confChange(o.change, `${what}.change`) };
    }
    return this.fail(`${what}.type`, `must be 'normal' or 'conf', got ${describe(type)}`);
  }

  /** A plain object holding exactly `keys` (undefined-valued optional keys aside). */
  record(v: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) this.fail(what, `must be an object, got ${describe(v)}`);
    const o = v as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !keys.includes(k));
    if (unknown.length > 0) this.fail(what, `unknown field(s) ${unknown.join(', ')}`);
    return o;
  }

  private nodeList(v: unknown, what: string): string[] {
    if (!Array.isArray(v)) this.fail(what, `must be an array of node ids, got ${describe(v)}`);
    const out = v.map((n, i) => this.nodeId(n, `${what}[${i}]`));
    if (new Set(out).size !== out.length) this.fail(what, 'lists a node twice');
    return out;
  }
}

export const argCheck: ShapeChecker = new ShapeChecker('InvalidArgument');
export const diskCheck: ShapeChecker = new ShapeChecker('StorageCorrupt');

export function checkIdentity(identity: unknown): StorageIdentity {
  const o = argCheck.record(identity, 'identity', ['clusterId', 'nodeId']);
  return { clusterId: argCheck.nodeId(o.clusterId, 'identity.clusterId'), nodeId: argCheck.nodeId(o.nodeId, 'identity.nodeId') };
}

export function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object' && v !== null) return 'object';
  return String(v);
}
