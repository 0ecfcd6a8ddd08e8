/**
 * What a production node replicates: IPAM commands, and the attributes of the cluster's members (their
 * peer and client addresses). Membership itself (who votes) is Raft's conf state; where a member can be
 * reached is data every node must agree on too, so it travels through the log the way etcd publishes a
 * member's URLs: a node added at run time becomes reachable for every replica, including ones that
 * restart or catch up from a snapshot later.
 *
 * Entry bytes: one tag byte, then the payload. Tag 0: an IPAM entry (src/ipam/log-entry.ts owns its
 * bytes). Tag 1: member attributes (msgpack). Snapshot: msgpack [format, members sorted by id, IPAM
 * snapshot bytes].
 */
import { Packr } from 'msgpackr';
import { smallBytes } from '../bytes/small-bytes.js';
import { encodeEntry, type LogEntryBody } from '../ipam/log-entry.js';
import { OverlayError } from '../ipam/errors.js';
import type { ApplyResult } from '../ipam/state-machine.js';
import { IpamApp } from './ipam-app.js';
import type { ReplicatedApp, RestoreTask, SnapshotTask } from './replica.js';

const TAG_IPAM = 0;
const TAG_MEMBER = 1;
const SNAPSHOT_FORMAT = 1;
const packr = new Packr({ useRecords: false, variableMapSize: true });

export interface MemberAttributes {
  id: string;
  /** host:port of the peer (Raft) listener. */
  peerUrl?: string;
  /** http(s)://host:port of the client (HTTP API) listener. */
  clientUrl?: string;
}

export type ClusterOut = { kind: 'ipam'; result: ApplyResult } | { kind: 'member'; member: MemberAttributes };

/** Observes member attribute changes as they are applied (the node updates its transport's peers). */
export type MembersListener = (member: MemberAttributes) => void;

export function encodeIpamEntry(body: LogEntryBody): Uint8Array {
  return tagged(TAG_IPAM, encodeEntry(body));
}

export function encodeMemberEntry(member: MemberAttributes): Uint8Array {
  return tagged(TAG_MEMBER, packr.pack(checkMember(member)));
}

export class ClusterApp implements ReplicatedApp<ClusterOut> {
  readonly ipam: IpamApp;
  private members = new Map<string, MemberAttributes>();

  constructor(
    ipam: IpamApp = new IpamApp(),
    private readonly onMember: MembersListener = () => undefined,
  ) {
    this.ipam = ipam;
  }

  apply(entry: { index: number; term: number; data: Uint8Array }): ClusterOut {
    const tag = entry.data[0];
    const payload = entry.data.subarray(1);
    if (tag === TAG_IPAM) return { kind: 'ipam', result: this.ipam.apply({ ...entry, data: payload }) };
    if (tag === TAG_MEMBER) {
      let member: MemberAttributes;
      try {
        member = checkMember(packr.unpack(payload));
      } catch (e) {
        // Deterministic on every replica: refuse the entry as data, as IpamApp does for bad IPAM bytes.
        return { kind: 'ipam', result: { ok: false, error: { code: 'InvalidCommand', message: `member entry at ${entry.index}: ${(e as Error).message}` } } };
      }
      this.members.set(member.id, member);
      this.onMember(member);
      return { kind: 'member', member };
    }
    return { kind: 'ipam', result: { ok: false, error: { code: 'InvalidCommand', message: `entry at ${entry.index} has unknown tag ${String(tag)}` } } };
  }

  member(id: string): MemberAttributes | undefined {
    return this.members.get(id);
  }

  allMembers(): MemberAttributes[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  snapshot(): Uint8Array {
    return encodeNodeSnapshot(this.allMembers(), this.ipam.snapshot());
  }

  /** The member list is small and taken now; the IPAM state is captured and encoded in steps. */
  beginSnapshot(): SnapshotTask {
    const members = this.allMembers();
    const ipam = this.ipam.beginSnapshot();
    return { step: () => ipam.step(), result: () => encodeNodeSnapshot(members, ipam.result()), abort: () => ipam.abort() };
  }

  restore(data: Uint8Array): void {
    const task = this.beginRestore(data);
    while (!task.step());
    task.finish();
  }

  /** The member list is small and read now; the IPAM state is decoded in steps and swapped in at finish(). */
  beginRestore(data: Uint8Array): RestoreTask {
    let raw: unknown;
    try {
      raw = packr.unpack(data);
    } catch (e) {
      throw new OverlayError('InvalidSnapshot', `node snapshot is not msgpack: ${(e as Error).message}`);
    }
    if (!Array.isArray(raw) || raw.length !== 3 || raw[0] !== SNAPSHOT_FORMAT || !Array.isArray(raw[1]) || !(raw[2] instanceof Uint8Array)) {
      throw new OverlayError('InvalidSnapshot', `node snapshot is not a format-${SNAPSHOT_FORMAT} [format, members, ipam] triple`);
    }
    const members = new Map<string, MemberAttributes>();
    for (const m of raw[1] as unknown[]) {
      const member = checkMember(m);
      if (members.has(member.id)) throw new OverlayError('InvalidSnapshot', `node snapshot lists member ${member.id} twice`);
      members.set(member.id, member);
    }
    // All or nothing: the IPAM state is validated whole before anything is swapped in.
    const ipam = this.ipam.beginRestore(raw[2]);
    return {
      step: () => ipam.step(),
      finish: () => {
        ipam.finish();
        this.members = members;
        for (const m of members.values()) this.onMember(m);
      },
    };
  }
}

/**
 * The replicated snapshot of a node: member attributes (sorted by id) and the IPAM snapshot bytes. Also
 * how `snapshot restore` builds the snapshot of a new cluster from a saved IPAM state, so a restored data
 * directory holds exactly what a running node would have written.
 */
export function encodeNodeSnapshot(members: readonly MemberAttributes[], ipamSnapshot: Uint8Array): Uint8Array {
  const sorted = members.map((m) => checkMember(m)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // restore() refuses a member listed twice; never write what cannot be read back.
  for (let i = 1; i < sorted.length; i++) if (sorted[i]?.id === sorted[i - 1]?.id) throw new OverlayError('InvalidSnapshot', `member ${sorted[i]?.id} is listed twice`);
  return packr.pack([SNAPSHOT_FORMAT, sorted, ipamSnapshot]);
}

function tagged(tag: number, payload: Uint8Array): Uint8Array {
  const out = smallBytes(payload.length + 1);
  out[0] = tag;
  out.set(payload, 1);
  return out;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function checkMember(raw: unknown): MemberAttributes {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OverlayError('InvalidCommand', 'member attributes must be an object');
  const { id, peerUrl, clientUrl, ...rest } = raw as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new OverlayError('InvalidCommand', `member attributes have unknown fields: ${Object.keys(rest).join(', ')}`);
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new OverlayError('InvalidCommand', `member id must be 1–64 characters of [A-Za-z0-9._-], got ${JSON.stringify(id)}`);
  const out: MemberAttributes = { id };
  if (peerUrl !== undefined) {
    if (typeof peerUrl !== 'string' || !HOST_PORT.test(peerUrl) || Number(HOST_PORT.exec(peerUrl)?.[2]) > 65535) throw new OverlayError('InvalidCommand', `peer address must be host:port, got ${JSON.stringify(peerUrl)}`);
    out.peerUrl = peerUrl;
  }
  if (clientUrl !== undefined) {
    if (typeof clientUrl !== 'string' || !/^https?:\/\/[^\s/]+$/.test(clientUrl)) throw new OverlayError('InvalidCommand', `client URL must be http(s)://host:port, got ${JSON.stringify(clientUrl)}`);
    out.clientUrl = clientUrl;
  }
  return out;
}

/** host:port → { host, port } (brackets stripped from an IPv6 literal). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = HOST_PORT.exec(text);
  const port = Number(m?.[2]);
  if (!m || !(port >= 0 && port <= 65535)) throw new OverlayError('InvalidCommand', `expected host:port, got ${JSON.stringify(text)}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}
