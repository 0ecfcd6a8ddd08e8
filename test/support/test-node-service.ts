/**
 * A single-node NodeService for testing the HTTP boundary: a real IpamStateMachine applies every command
 * at once (no Raft: this double stands in for "the cluster agreed"), and the test can make the next calls
 * fail the way a real cluster does (NotLeader with a leader, NoLeader, Timeout before or after applying,
 * a defect). Commands go through the state machine's own log-entry path (encodeEntry → applyEntry), so
 * exactly-once sessions are the real ones: a client's retry can be seen to arrive twice and apply once.
 */
import { IpamStateMachine, type ApplyResult, type IpamCommand } from '../../src/index.js';
import { encodeEntry } from '../../src/ipam/log-entry.js';
import { NodeError, type Consistency, type LeaderRef, type MemberView, type NodeService, type NodeStatusView, type RaftStatusView, type SessionRef, type SnapshotExport } from '../../src/node/service.js';

export type Fault =
  | { code: 'NotLeader'; leader?: LeaderRef }
  | { code: 'NoLeader' | 'Overloaded' | 'Stopped' | 'InvalidMembership' }
  /**
   * afterApply: the command is applied (and cached) first — a reply lost after the commit; then `then`
   * runs (whatever else happens to the cluster before the client's retry arrives).
   */
  | { code: 'Timeout'; afterApply?: boolean; then?: () => void }
  /** A defect: a plain Error whose message and stack must never reach a client. */
  | { code: 'Defect' };

export interface Received {
  command: unknown;
  session?: SessionRef;
}

export class TestNodeService implements NodeService {
  readonly sm = new IpamStateMachine();
  /** Every submit in arrival order, faulted or not. */
  readonly received: Received[] = [];
  /** Commands the state machine actually ran (cache hits and faults before apply excluded). */
  applied = 0;
  ready = true;
  /** The consistency of every query, in order: shows the API passes ?consistency through. */
  readonly consistencies: Consistency[] = [];
  leader: LeaderRef | null;
  members: MemberView[];
  private readonly queued: Fault[] = [];
  private always: Fault | undefined;
  private nextEntryId = 1;

  readonly clusterId: string;

  constructor(
    readonly id: string,
    options: { clientUrl?: string; clusterId?: string } = {},
  ) {
    this.clusterId = options.clusterId ?? 'test-cluster';
    this.leader = { id, ...(options.clientUrl ? { clientUrl: options.clientUrl } : {}) };
    this.members = [{ id, role: 'voter', ...(options.clientUrl ? { clientUrl: options.clientUrl } : {}) }];
  }

  /** The next calls (submit, query, membership) fail with these faults, one each, in order. */
  failNext(...faults: Fault[]): void {
    this.queued.push(...faults);
  }

  /** Every call fails with this fault until cleared with undefined. */
  failAlways(fault: Fault | undefined): void {
    this.always = fault;
  }

  private fault(): Fault | undefined {
    return this.queued.shift() ?? this.always;
  }

  private throwFault(f: Fault): never {
    if (f.code === 'Defect') throw new Error('defect: secret detail at /srv/raft-ipam/internal.ts:42');
    if (f.code === 'NotLeader') throw new NodeError('NotLeader', `${this.id} is not the leader`, f.leader);
    throw new NodeError(f.code, `injected ${f.code}`);
  }

  async submit(command: IpamCommand, session?: SessionRef): Promise<ApplyResult> {
    this.received.push({ command, ...(session ? { session } : {}) });
    const f = this.fault();
    if (f && !(f.code === 'Timeout' && f.afterApply)) this.throwFault(f);
    const result = this.execute(command, session);
    if (f?.code === 'Timeout') f.then?.();
    if (f) this.throwFault(f);
    return result;
  }

  private execute(command: IpamCommand, session: SessionRef | undefined): ApplyResult {
    const outcome = this.sm.applyEntry(encodeEntry({ id: this.nextEntryId++, command, ...(session ? { session } : {}), time: 0 }));
    if (outcome.kind !== 'applied') return { ok: false, error: outcome.error };
    if (!outcome.replayed) this.applied++;
    return outcome.result;
  }

  async query<T>(consistency: Consistency, read: (sm: IpamStateMachine) => T): Promise<T> {
    this.consistencies.push(consistency);
    const f = this.fault();
    if (f) this.throwFault(f);
    return read(this.sm);
  }

  raftStatus(): RaftStatusView {
    return {
      id: this.id,
      clusterId: this.clusterId,
      role: this.leader?.id === this.id ? 'leader' : 'follower',
      term: 1,
      leader: this.leader,
      commit: this.applied,
      applied: this.applied,
      lastIndex: this.applied,
      snapshotIndex: 0,
      members: this.members.map((m) => ({ ...m })),
    };
  }

  async status(): Promise<NodeStatusView> {
    return { ...this.raftStatus(), stateHash: this.sm.stateHash(), stateHashIndex: this.applied };
  }

  private member(id: string): MemberView {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new NodeError('InvalidMembership', `no member ${id}`);
    return m;
  }

  async addMember(member: { id: string; peerUrl: string; clientUrl?: string; learner?: boolean }): Promise<void> {
    const f = this.fault();
    if (f) this.throwFault(f);
    if (this.members.some((m) => m.id === member.id)) throw new NodeError('InvalidMembership', `${member.id} is already a member`);
    this.members.push({ id: member.id, role: member.learner ? 'learner' : 'voter', peerUrl: member.peerUrl, ...(member.clientUrl ? { clientUrl: member.clientUrl } : {}) });
  }

  async promoteMember(id: string): Promise<void> {
    const f = this.fault();
    if (f) this.throwFault(f);
    this.member(id).role = 'voter';
  }

  async removeMember(id: string): Promise<void> {
    const f = this.fault();
    if (f) this.throwFault(f);
    const m = this.member(id);
    if (m.role === 'voter' && this.members.filter((x) => x.role === 'voter').length === 1) throw new NodeError('InvalidMembership', 'cannot remove the last voter');
    this.members = this.members.filter((x) => x.id !== id);
  }

  async transferLeader(to?: string): Promise<void> {
    const f = this.fault();
    if (f) this.throwFault(f);
    const target = to === undefined ? this.members.find((m) => m.role === 'voter' && m.id !== this.id) : this.member(to);
    if (!target || target.role !== 'voter') throw new NodeError('InvalidMembership', `no voter to transfer leadership to`);
    this.leader = { id: target.id, ...(target.clientUrl ? { clientUrl: target.clientUrl } : {}) };
  }

  isReady(): boolean {
    return this.ready;
  }

  /** The state machine's snapshot at "index" = commands applied so far (term 1), or the next fault. */
  async exportSnapshot(): Promise<SnapshotExport> {
    const f = this.fault();
    if (f) this.throwFault(f);
    return { clusterId: 'test-cluster', index: Math.max(1, this.applied), term: 1, takenAt: 1_700_000_000_000, data: this.sm.snapshot() };
  }
}
