/**
 * A naive model of client sessions (Raft dissertation §6.3) to check IpamStateMachine.applyEntry against:
 * sessions in a plain Map, expiry by scanning every session whenever log time advances (the real table pops
 * an ordered Map from the front), results cached as the objects themselves. IPAM commands run on a
 * reference IpamStateMachine through apply(), only when the model decides they execute.
 */
import { decodeEntry, IpamStateMachine, type ApplyResult, type CommandResult, type IpamCommand } from '../../src/index.js';

export type ModelOutcome =
  | { kind: 'applied'; replayed: boolean; result: ApplyResult<CommandResult> }
  | { kind: 'sessionRefused'; code: string };

interface ModelSession {
  lastActive: number;
  floor: number;
  cache: Map<number, { type: string; result: ApplyResult<CommandResult> }>;
}

export class SessionModel {
  logTime = 0;
  ttlMs = 600_000;
  nextId = 1;
  readonly sessions = new Map<number, ModelSession>();

  constructor(readonly reference: IpamStateMachine) {}

  step(bytes: Uint8Array): ModelOutcome {
    const { command, session: tag, time } = decodeEntry(bytes);
    if (time !== undefined && time > this.logTime) {
      this.logTime = time;
      for (const [id, s] of this.sessions) if (this.logTime - s.lastActive > this.ttlMs) this.sessions.delete(id);
    }
    if (tag === undefined) return { kind: 'applied', replayed: false, result: this.exec(command) };
    const s = this.sessions.get(tag.id);
    if (!s) return { kind: 'sessionRefused', code: tag.id < this.nextId ? 'SessionExpired' : 'UnknownSession' };
    s.lastActive = this.logTime;
    if (tag.ack !== undefined && tag.ack > s.floor) {
      s.floor = tag.ack;
      for (const seq of [...s.cache.keys()]) if (seq < tag.ack) s.cache.delete(seq);
    }
    const hit = s.cache.get(tag.seq);
    if (hit) return hit.type === command.type ? { kind: 'applied', replayed: true, result: hit.result } : { kind: 'sessionRefused', code: 'SessionSeqReused' };
    if (tag.seq < s.floor) return { kind: 'sessionRefused', code: 'SessionSeqTooOld' };
    if (s.cache.size >= 1024) return { kind: 'sessionRefused', code: 'SessionBusy' };
    const result = this.exec(command);
    s.cache.set(tag.seq, { type: command.type, result });
    return { kind: 'applied', replayed: false, result };
  }

  private exec(c: IpamCommand): ApplyResult<CommandResult> {
    switch (c.type) {
      case 'openSession': {
        const id = this.nextId++;
        this.sessions.set(id, { lastActive: this.logTime, floor: 1, cache: new Map() });
        return { ok: true, value: { session: id } };
      }
      case 'closeSession': {
        if (this.sessions.delete(c.session)) return { ok: true, value: { session: c.session, closed: true } };
        if (c.session < this.nextId) return { ok: true, value: { session: c.session, closed: false } };
        return { ok: false, error: { code: 'UnknownSession', message: `session ${c.session} was never opened` } };
      }
      case 'configureSessions': {
        const previousTtlMs = this.ttlMs;
        this.ttlMs = c.ttlMs;
        return { ok: true, value: { ttlMs: c.ttlMs, previousTtlMs } };
      }
      default:
        return this.reference.apply(c);
    }
  }
}
