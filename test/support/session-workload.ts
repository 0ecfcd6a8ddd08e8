/**
 * Random log-entry streams with client sessions, for property tests: sessions opened and closed, requests
 * numbered per session, retries of earlier requests (byte-identical duplicates, as when a crashed leader's
 * entry and the client's retry both reach the log, and re-sent copies carrying a later leader time),
 * acks, entries without sessions, leader times that jump past the TTL or lag behind (a new leader with a
 * slower clock), TTL changes, and requests under session ids that were never issued.
 *
 * The stream is plain data built before any replica runs: session ids are predictable (the k-th
 * openSession gets id k, from the replicated counter), so no replica's answers steer the generator.
 */
import fc from 'fast-check';
import { encodeEntry, type IpamCommand, type LogEntryBody, type SessionTag } from '../../src/index.js';
import { commandArb } from './ipam-workload.js';

type Step =
  | { kind: 'open'; dt: TimeStep }
  | { kind: 'request'; slot: number; command: IpamCommand; ack: number; dt: TimeStep }
  | { kind: 'retry'; slot: number; back: number; ack: number; dt: TimeStep; identical: boolean }
  | { kind: 'close'; slot: number; dt: TimeStep }
  | { kind: 'plain'; command: IpamCommand; dt: TimeStep }
  | { kind: 'ttl'; ttlMs: number; dt: TimeStep }
  | { kind: 'stranger'; id: number; dt: TimeStep };

/** How the entry's leader time relates to the previous entry's: absent, same, a bit later, far later, earlier. */
type TimeStep = { kind: 'none' } | { kind: 'advance'; ms: number } | { kind: 'lag'; ms: number };

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

const timeStep: fc.Arbitrary<TimeStep> = fc.oneof(
  w(1, fc.constant({ kind: 'none' as const })),
  w(3, fc.integer({ min: 0, max: 2_000 }).map((ms) => ({ kind: 'advance' as const, ms }))),
  w(1, fc.integer({ min: 4_000, max: 700_000 }).map((ms) => ({ kind: 'advance' as const, ms }))),
  w(1, fc.integer({ min: 1, max: 10_000 }).map((ms) => ({ kind: 'lag' as const, ms }))),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  w(2, fc.record({ kind: fc.constant('open' as const), dt: timeStep })),
  w(8, fc.record({ kind: fc.constant('request' as const), slot: fc.nat(), command: commandArb, ack: fc.nat(), dt: timeStep })),
  w(4, fc.record({ kind: fc.constant('retry' as const), slot: fc.nat(), back: fc.nat(), ack: fc.nat(), dt: timeStep, identical: fc.boolean() })),
  w(1, fc.record({ kind: fc.constant('close' as const), slot: fc.nat(), dt: timeStep })),
  w(2, fc.record({ kind: fc.constant('plain' as const), command: commandArb, dt: timeStep })),
  w(1, fc.record({ kind: fc.constantFrom('ttl' as const), ttlMs: fc.constantFrom(1_000, 5_000, 600_000), dt: timeStep })),
  w(1, fc.record({ kind: fc.constant('stranger' as const), id: fc.integer({ min: 1, max: 40 }), dt: timeStep })),
);

interface ClientSession {
  id: number;
  nextSeq: number;
  sent: Array<{ body: LogEntryBody; bytes: Uint8Array }>;
}

/** Turn random steps into entry bytes (ids 1, 2, …; times from the steps). */
export function buildStream(steps: readonly Step[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const clients: ClientSession[] = [];
  let opened = 0;
  let clock = 1_000_000;
  let entryId = 0;
  const time = (dt: TimeStep): number | undefined => {
    if (dt.kind === 'none') return undefined;
    if (dt.kind === 'advance') clock += dt.ms;
    else return Math.max(0, clock - dt.ms); // a lagging leader: below the log time, which must not go back
    return clock;
  };
  const push = (body: Omit<LogEntryBody, 'id'>, t: number | undefined): { body: LogEntryBody; bytes: Uint8Array } => {
    const full: LogEntryBody = { id: ++entryId, ...body, ...(t !== undefined ? { time: t } : {}) };
    const bytes = encodeEntry(full);
    out.push(bytes);
    return { body: full, bytes };
  };
  for (const step of steps) {
    const client = clients.length > 0 && 'slot' in step ? clients[step.slot % clients.length] : undefined;
    switch (step.kind) {
      case 'open':
        push({ command: { type: 'openSession' } }, time(step.dt));
        clients.push({ id: ++opened, nextSeq: 1, sent: [] });
        break;
      case 'request': {
        if (!client) break;
        const seq = client.nextSeq++;
        const session: SessionTag = { id: client.id, seq, ...(step.ack % 3 === 0 ? {} : { ack: 1 + (step.ack % seq) }) };
        client.sent.push(push({ command: step.command, session }, time(step.dt)));
        break;
      }
      case 'retry': {
        const earlier = client?.sent[client.sent.length - 1 - (step.back % Math.max(1, client.sent.length))];
        if (!client || !earlier) break;
        if (step.identical) {
          out.push(earlier.bytes); // the log holds the very same entry twice
        } else {
          const tag = earlier.body.session as SessionTag;
          const session: SessionTag = { id: tag.id, seq: tag.seq, ...(step.ack % 2 === 0 ? {} : { ack: 1 + (step.ack % tag.seq) }) };
          push({ command: earlier.body.command, session }, time(step.dt));
        }
        break;
      }
      case 'close':
        if (client) push({ command: { type: 'closeSession', session: client.id } }, time(step.dt));
        break;
      case 'plain':
        push({ command: step.command }, time(step.dt));
        break;
      case 'ttl':
        push({ command: { type: 'configureSessions', ttlMs: step.ttlMs } }, time(step.dt));
        break;
      case 'stranger':
        push({ command: { type: 'release', network: 'v4', address: '10.200.0.1' }, session: { id: step.id, seq: 1 } }, time(step.dt));
        break;
    }
  }
  return out;
}

export const streamArb = (minLength: number, maxLength: number): fc.Arbitrary<Uint8Array[]> => fc.array(stepArb, { minLength, maxLength }).map(buildStream);
