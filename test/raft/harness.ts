/**
 * A tiny interpreter for readable Raft scenarios (in the style of etcd-io/raft's datadriven tests): a
 * cluster of RaftCore nodes with hand-driven ticks and message delivery, persisted storage per node, and
 * commands that print what happened. Scenario files live in testdata/*.txt:
 *
 *   command args…
 *   ----
 *   expected output
 *
 * blocks separated by a blank line; `#` lines are comments. Run with RAFT_REWRITE=1 to rewrite the
 * expected output after a deliberate behaviour change — then read the diff, it is the review.
 */
import { RaftCore, type RaftConfig } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import { PartitionTable } from '../../src/sim/partition-table.js';
import { logView, withTestingKnobs, type TestingKnobs } from '../../src/raft/internal.js';
import type { Entry, HardState, Message, NodeId, Ready, Snapshot } from '../../src/raft/types.js';
import { SnapshotBytes } from './snapshot-bytes.js';

interface Node {
  id: NodeId;
  core: RaftCore | undefined;
  storage: { hardState: HardState; snapshots: SnapshotBytes; entries: Entry[] };
  applied: string[];
  cfg: Omit<RaftConfig, 'id' | 'rng'>;
  initialVoters?: NodeId[];
  initialLearners?: NodeId[];
}

const dec = new TextDecoder();
const enc = new TextEncoder();

export class Harness {
  private nodes = new Map<NodeId, Node>();
  private queue: Message[] = [];
  private readonly partitions = new PartitionTable();
  private defaults: Omit<RaftConfig, 'id' | 'rng'> = { electionTick: 10, heartbeatTick: 1 };
  private knobs: TestingKnobs = {};

  run(cmd: string, args: string[]): string[] {
    const kv = Object.fromEntries(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
    const pos = args.filter((a) => !a.includes('='));
    switch (cmd) {
      case 'cluster':
        return this.cluster(kv);
      case 'add-node':
        this.addNode(pos[0] as string, undefined, undefined);
        return ['ok'];
      case 'add-nodes':
        return this.addNodesAt(kv);
      case 'campaign':
        this.core(pos[0]).campaign();
        return kv.stabilize === 'false' ? this.drain(pos[0] as string) : this.stabilize(kv.quiet === 'true');
      case 'tick': {
        const n = Number(kv.n ?? '1');
        for (let i = 0; i < n; i++) this.core(pos[0]).tick();
        return this.drain(pos[0] as string);
      }
      case 'propose': {
        const r = this.core(pos[0]).propose(enc.encode(pos.slice(1).join(' ')));
        return [`proposed ${r.index}/${r.term}`, ...this.drain(pos[0] as string)];
      }
      case 'conf-change': {
        const [id, op, node] = pos as [string, 'addVoter' | 'addLearner' | 'remove', string];
        const r = this.core(id).proposeConfChange({ op, node });
        return [`proposed ${r.index}/${r.term}`, ...this.drain(id)];
      }
      case 'transfer':
        this.core(pos[0]).transferLeadership(pos[1] as string);
        return this.drain(pos[0] as string);
      case 'read': {
        const core = this.core(pos[0]);
        core.readIndex(pos[1] as string);
        const out = this.drain(pos[0] as string);
        // Say why a read is not answered yet: it waits for a quorum to acknowledge a heartbeat round.
        const waiting = core.status().pendingReads ?? 0;
        if (waiting > 0) out.push(`${pos[0]}: ${waiting} read(s) wait for a quorum of heartbeat acknowledgements`);
        return out;
      }
      case 'compact': {
        const node = this.node(pos[0]);
        const core = this.core(pos[0]);
        const st = core.status();
        const { snapshot, compactedTo } = node.storage.snapshots.compact(core, st.applied, enc.encode(JSON.stringify(node.applied)), Number(kv.keep ?? '0'));
        node.storage.entries = node.storage.entries.filter((e) => e.index > compactedTo);
        return [`snapshot ${snapshot.meta.index}/${snapshot.meta.term} (${snapshot.data.length} bytes), log from ${compactedTo + 1}`];
      }
      case 'stabilize':
        return this.stabilize(kv.quiet === 'true');
      case 'ready':
        // Process one node's ready only: persist, queue its messages, apply; deliver nothing.
        return this.drain(pos[0] as string);
      case 'deliver':
        // Deliver the queued messages matching from=/to= (all if neither), once; keep the rest queued.
        return this.deliver(kv.from, kv.to, false);
      case 'drop':
        return this.deliver(kv.from, kv.to, true);
      case 'partition': {
        // partition 1 2 | 3  — no traffic between the two sides
        const bar = pos.indexOf('|');
        const left = pos.slice(0, bar);
        const right = pos.slice(bar + 1);
        this.partitions.split(left, right);
        return ['ok'];
      }
      case 'isolate':
        this.partitions.isolate(pos[0] as string, this.nodes.keys());
        return ['ok'];
      case 'heal':
        this.partitions.heal();
        return ['ok'];
      case 'crash': {
        const node = this.node(pos[0]);
        node.core = undefined;
        return ['ok'];
      }
      case 'restart':
        this.start(this.node(pos[0]));
        return ['ok'];
      case 'status':
        return [...this.nodes.values()].map((n) => this.statusLine(n));
      case 'leader': {
        // The live leader of the highest term, if any: what a liveness scenario is about.
        const leaders = [...this.nodes.values()].flatMap((n) => (n.core?.status().role === 'leader' ? [n.core.status()] : []));
        const best = leaders.sort((a, b) => b.term - a.term)[0];
        return [best ? `leader ${best.id} (term ${best.term})` : 'no leader'];
      }
      case 'log':
        return this.logLines(this.node(pos[0]));
      case 'applied':
        return [`${pos[0]}: ${this.node(pos[0]).applied.join(' ') || '(none)'}`];
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  private cluster(kv: Record<string, string>): string[] {
    const voters = (kv.voters ?? '').split(',').filter(Boolean);
    const learners = (kv.learners ?? '').split(',').filter(Boolean);
    this.setDefaults(kv);
    for (const id of [...voters, ...learners]) this.addNode(id, voters, learners);
    // The bootstrap conf entries are applied by every node; say so once instead of line by line.
    const out = this.stabilize(true).filter((l) => !/ applies \d+: add(Voter|Learner) /.test(l) && l !== 'ok');
    out.unshift(`bootstrapped voters=${voters.join(',')}${learners.length ? ` learners=${learners.join(',')}` : ''}: log 1..${voters.length + learners.length} committed and applied everywhere`);
    // Every node has just started, and a started node ignores vote requests for its first election
    // timeout (it might have acknowledged a leader's heartbeat just before a crash). Let that pass in
    // lockstep so scenarios begin with a cluster that has been up for a moment.
    for (let t = 0; t < this.defaults.electionTick; t++) for (const n of this.nodes.values()) n.core?.tick();
    return [...out, ...this.stabilize(true).filter((l) => l !== 'ok')];
  }

  private setDefaults(kv: Record<string, string>): void {
    this.defaults = {
      electionTick: Number(kv.election ?? 10),
      heartbeatTick: Number(kv.heartbeat ?? 1),
      preVote: kv.prevote !== 'false',
      checkQuorum: kv.checkquorum !== 'false',
      readOnly: kv.read === 'lease' ? 'lease' : 'safe',
      maxSizePerMsg: Number(kv.maxsize ?? 1 << 20),
      snapshotChunkBytes: Number(kv.chunk ?? 1 << 20),
    };
    this.knobs = kv.unsafe === 'commit-prior-term' ? { commitEntriesOfPriorTerms: true } : {};
  }

  /**
   * add-nodes voters=1,2,3 [learners=4] index=10 [cluster options]: start nodes that already agree on
   * everything up to `index` (etcd's add-nodes … index=10): each boots from a snapshot at index/term 1
   * holding the membership, so a scenario begins from a settled cluster without any bootstrap traffic.
   */
  private addNodesAt(kv: Record<string, string>): string[] {
    const index = Number(kv.index ?? '1');
    if (!(index >= 1)) throw new Error('add-nodes needs index ≥ 1');
    const voters = (kv.voters ?? '').split(',').filter(Boolean);
    const learners = (kv.learners ?? '').split(',').filter(Boolean);
    this.setDefaults(kv);
    for (const id of [...voters, ...learners]) {
      const snapshot: Snapshot = { meta: { index, term: 1, conf: { voters, learners } }, data: enc.encode('[]') };
      const node: Node = { id, core: undefined, storage: { hardState: { term: 1, vote: null, commit: index }, entries: [], snapshots: new SnapshotBytes(snapshot) }, applied: [], cfg: { ...this.defaults } };
      this.nodes.set(id, node);
      this.start(node);
    }
    // Past the startup lease (see cluster), in lockstep and quietly.
    for (let t = 0; t < this.defaults.electionTick; t++) for (const n of this.nodes.values()) n.core?.tick();
    const out = this.stabilize(true).filter((l) => l !== 'ok');
    return [`${[...voters, ...learners].join(',')} start at ${index}/1${learners.length ? ` (learners ${learners.join(',')})` : ''}`, ...out];
  }

  private addNode(id: string, voters: string[] | undefined, learners: string[] | undefined): void {
    const node: Node = {
      id,
      core: undefined,
      storage: { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshots: new SnapshotBytes() },
      applied: [],
      cfg: { ...this.defaults },
      ...(voters ? { initialVoters: voters, initialLearners: learners ?? [] } : {}),
    };
    this.nodes.set(id, node);
    this.start(node);
  }

  private start(node: Node): void {
    const s = node.storage;
    const snapshot = s.snapshots.snapshot;
    node.applied = snapshot ? (JSON.parse(dec.decode(snapshot.data)) as string[]) : [];
    node.core = new RaftCore(
      // A fixed seed per node id: randomized timeouts are reproducible in every run of a scenario.
      withTestingKnobs({ ...node.cfg, id: node.id, rng: createRng(Number(node.id) * 7919) }, this.knobs),
      {
        hardState: { ...s.hardState },
        entries: s.entries.slice(),
        ...(s.snapshots.info ? { snapshot: s.snapshots.info } : {}),
        ...(node.initialVoters && s.entries.length === 0 && !snapshot && s.hardState.term === 0 ? { initialConf: { voters: node.initialVoters, learners: node.initialLearners ?? [] } } : {}),
      },
    );
  }

  private node(id: string | undefined): Node {
    const n = this.nodes.get(id ?? '');
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private core(id: string | undefined): RaftCore {
    const c = this.node(id).core;
    if (!c) throw new Error(`node ${id} is down`);
    return c;
  }

  /** Process the node's ready (persist, queue messages, apply) without delivering anything. */
  private drain(id: string): string[] {
    const out: string[] = [];
    this.processReady(this.node(id), out);
    return out.length ? out : ['ok'];
  }

  private processReady(node: Node, out: string[]): boolean {
    const core = node.core;
    if (!core || !core.hasReady()) return false;
    const rd: Ready = core.ready();
    const s = node.storage;
    const installed = s.snapshots.persist(rd);
    if (installed) {
      s.entries = [];
      node.applied = JSON.parse(dec.decode(installed.data)) as string[];
      out.push(`${node.id} installs snapshot ${installed.meta.index}/${installed.meta.term}`);
    }
    if (rd.entries.length > 0) {
      const first = (rd.entries[0] as Entry).index;
      s.entries = s.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) s.hardState = { ...rd.hardState };
    if (rd.softState) out.push(`${node.id} becomes ${rd.softState.role} (lead ${rd.softState.lead ?? 'none'})`);
    for (const m of rd.messages) this.queue.push(m);
    for (const m of s.snapshots.messages(node.id, rd)) this.queue.push(m);
    for (const e of rd.committedEntries) {
      if (e.type === 'normal' && e.data.length > 0) node.applied.push(dec.decode(e.data));
      if (e.type === 'conf') out.push(`${node.id} applies ${e.index}: ${e.change.op} ${e.change.node}`);
    }
    for (const r of rd.readStates) out.push(`${node.id} read ${r.ctx} at index ${r.index}`);
    core.advance(rd);
    return true;
  }

  private deliver(from: string | undefined, to: string | undefined, drop: boolean): string[] {
    const out: string[] = [];
    const keep: Message[] = [];
    for (const m of this.queue) {
      if ((from !== undefined && m.from !== from) || (to !== undefined && m.to !== to)) {
        keep.push(m);
        continue;
      }
      const lost = drop || this.partitions.blocks(m.from, m.to);
      out.push(`${lost ? 'DROP ' : ''}${describeMessage(m)}`);
      if (!lost) this.nodes.get(m.to)?.core?.step(m);
    }
    this.queue = keep;
    return out.length ? out : ['ok'];
  }

  /** Process readies and deliver messages until nothing moves. */
  private stabilize(quiet: boolean): string[] {
    const out: string[] = [];
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const n of this.nodes.values()) moved = this.processReady(n, out) || moved;
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) {
        moved = true;
        const blocked = this.partitions.blocks(m.from, m.to);
        if (!quiet) out.push(`${blocked ? 'DROP ' : ''}${describeMessage(m)}`);
        if (blocked) continue;
        const target = this.nodes.get(m.to)?.core;
        if (target) target.step(m);
      }
      if (!moved) return out.length ? out : ['ok'];
    }
    throw new Error(`stabilize did not settle in 1000 rounds; last: ${out.slice(-12).join(" | ")}`);
  }

  private statusLine(n: Node): string {
    if (!n.core) return `${n.id}: down`;
    const s = n.core.status();
    return `${n.id}: ${s.role} term=${s.term} lead=${s.lead ?? '-'} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} snap=${s.snapshotIndex} voters=${s.conf.voters.join(',')}${s.conf.learners.length ? ` learners=${s.conf.learners.join(',')}` : ''}`;
  }

  private logLines(n: Node): string[] {
    const v = n.core ? logView(n.core) : undefined;
    if (!v) return [`${n.id} (down, on disk): ${n.storage.entries.map(entryText).join(' ') || '(empty)'}`];
    return [`${n.id}: [from ${v.offset + 1}] ${v.entries.map(entryText).join(' ') || '(empty)'}`];
  }
}

function entryText(e: Entry): string {
  if (e.type === 'conf') return `${e.index}/${e.term}:${e.change.op}(${e.change.node})`;
  return `${e.index}/${e.term}:${e.data.length ? JSON.stringify(dec.decode(e.data)) : 'noop'}`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit} [${m.entries.map(entryText).join(' ')}]`;
    case 'appResp':
      return m.reject ? `${head} REJECT ${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} ok ${m.index}`;
    case 'vote':
    case 'preVote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' (transfer)' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head} ${m.reject ? `REJECT (${m.reason ?? 'no reason given'})` : 'granted'}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.readSeq ? ` read#${m.readSeq}` : ''}`;
    case 'heartbeatResp':
      return `${head}${m.readSeq ? ` read#${m.readSeq}` : ''}`;
    case 'snap':
      return `${head} snap=${m.meta.index}/${m.meta.term} bytes ${m.offset}..${m.offset + m.chunk.length} of ${m.total}`;
    case 'snapResp':
      return `${head} snap=${m.snapIndex} next=${m.nextOffset}${m.done ? ' done' : ''}`;
    case 'timeoutNow':
      return head;
  }
}

export interface Block {
  cmd: string;
  args: string[];
  expected: string[];
  line: number;
}

export function parseScenario(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    const [cmd, ...args] = line.split(/\s+/) as [string, ...string[]];
    const start = i + 1;
    i++;
    if ((lines[i] ?? '').trim() !== '----') throw new Error(`line ${i + 1}: expected ---- after command`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '') expected.push((lines[i++] as string).trimEnd());
    blocks.push({ cmd, args, expected, line: start });
  }
  return blocks;
}

export function renderScenario(text: string, outputs: string[][]): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let i = 0;
  let b = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.trim().startsWith('#')) {
      out.push(line);
      i++;
      continue;
    }
    out.push(line, '----', ...(outputs[b++] as string[]));
    i += 2;
    while (i < lines.length && (lines[i] as string).trim() !== '') i++;
  }
  return out.join('\n');
}
