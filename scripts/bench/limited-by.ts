/**
 * What limits each number, in words: one table keyed by row id, so that the explanation can be
 * corrected as the code is understood better and an older run's JSON regenerated with it
 * (`npm run bench:report`), instead of each measuring module carrying its own sentence.
 */
const TABLE: Array<[RegExp, string]> = [
  [/^limit-fdatasync$/, 'the disk (a virtio block device, shared with the other work on this machine) and the kernel\'s flush path; it varied by more than 10× between runs on this machine'],
  [/^limit-batch-1$/, 'one fdatasync per entry'],
  [/^limit-batch-\d+$/, 'one fdatasync per batch, plus per-entry JS and LevelDB work'],
  [/^limit-noop-(http|get)-\d+$/, 'HTTP parsing and JSON on both ends, server and load generator sharing 2 busy cores'],
  [/^limit-noop-open$/, 'the load generator\'s timers and event loop, and HTTP on a busy machine'],
  [
    /^alloc-http-\d+$/,
    'at 1 client the commit path: the leader\'s fsync in parallel with the appends to the followers and their fsync (two fsyncs on one disk at once, each slower than one alone), then the acknowledgement, the apply and the reply, each a process wake-up (the replica steps no input while an entries write is in flight, though committed entries are applied while the next batch is written, and a write that only moves the commit index is not waited for); with more clients the CPU: 3 nodes and the generator on 2 shared cores (at 256 clients the machine is ≈ 90% busy; per allocation ≈ 85–95 µs of CPU in the leader, ≈ 37 µs in each follower and ≈ 48 µs in the generator, read from /proc; a leader that kept taking input while its write was in flight, etcd-style, measured no faster), where waking another process inside a socket write shows as writev time in the leader\'s profile',
  ],
  [/^alloc-http-shared-\d+$/, 'as the other HTTP rows: the state machine applies one command at a time, so one shared slice costs nothing extra (no retries, no conflicts)'],
  [/^alloc-client-\d+$/, 'as HTTP, plus the client library in the one generator process: undici\'s request() (fetch cost about 4× the CPU per call), a timer and abort controller per attempt, and retry bookkeeping per call'],
  [/^alloc-embedded-\d+$/, 'as HTTP without HTTP: the leader\'s persist cycle (one write in flight at a time) and its process\'s CPU, which the load generator shares'],
  [/^etcd-put-\d+$/, 'etcd\'s WAL fsync batches, Raft, bbolt and the gRPC gateway (HTTP/JSON → gRPC) for 3 members, on the same 2 shared cores'],
  [/^etcd-txn-\d+$/, 'two round trips per allocation: a linearizable range read (a ReadIndex round), then a txn through Raft and bbolt'],
  [/^etcd-txn-shared-\d+$/, 'conflicts: every client races for the same lowest free address, so all but one txn per round fail their create_revision compare and retry'],
  [/^latency-open-http$/, 'the p50: queueing behind the write in flight (a request arriving while the leader fsyncs waits for that write and then its own); the tail: fsyncs that take 5–15 ms on all three nodes at once (one disk), and CPU bursts with 3 nodes and the generator on 2 cores (the generator itself starts requests late: lateStarts in the JSON); a policy snapshot is encoded in steps of 1,024 addresses and the nodes snapshot at different indexes, so it no longer stalls every node at the same moment'],
  [/^etcd-latency-open-put$/, 'as raft-ipam: WAL fsync batches and CPU bursts'],
  [/^reads-readindex-\d+$/, 'a heartbeat round to a quorum per batch of reads; followers answer NotLeader (they do not forward a ReadIndex request), so every read lands on the leader'],
  [/^reads-lease-\d+$/, 'HTTP and JSON, as stale reads: the lease needs no message'],
  [/^reads-stale-\d+$/, 'HTTP, JSON and the query on the leader, sharing 2 busy cores'],
  [/^etcd-reads-\d+$/, 'a ReadIndex round per batch and the gateway\'s HTTP → gRPC hop'],
  [/^transfer$/, 'catching the target up, TimeoutNow, one vote round, the new leader\'s first commit; nothing to wait out, so scheduling delays on the busy machine make the tail'],
  [/^etcd-transfer$/, 'as raft-ipam; etcd\'s MoveLeader also waits until the new leader is seen, which takes about one heartbeat interval (100 ms) in every sample'],
  [
    /^failover-kill$/,
    'the election timeout (the run\'s timing, under How it was measured): the first survivor to go a randomized [1, 2)× the timeout without a heartbeat pre-votes, then a vote round (each vote synced to disk), the new leader\'s no-op and the probe\'s write committed together with the other survivor; with two survivors the wait is the earlier of two draws, minus the part of a heartbeat interval already elapsed at the kill. A tie (both time out within a vote round trip) splits the vote and costs a second timeout: the tail',
  ],
  [/^etcd-failover-kill$/, 'etcd\'s election timeout (set to raft-ipam\'s, randomized up to 2×), pre-vote and vote rounds'],
  [
    /^restart-follower$/,
    'the boot work (see it in the JSON): restoring the 1,000,000 owned addresses (adding owners to the owner index, decoding blocks), replaying the 100,000-entry tail (command validation and apply), the process start (module loading: ≈ 0.45 s of an empty node\'s restart) and GC; the leader\'s heartbeats reach the restarted follower within milliseconds of its listening (its hello cuts the leader\'s dial backoff short)',
  ],
  [/^restart-cluster$/, 'three nodes restoring and replaying at once on 2 shared cores, then an election (≥ 500 ms timeout)'],
  [
    /^catchup-snapshot$/,
    'decoding the snapshot step by step between heartbeats, after the process start; the member is added before its process listens, so the leader\'s dials to it fail and back off until the new member\'s hello on start makes the leader redial at once',
  ],
  [/^rss-1m$/, 'the state\'s typed arrays (≈ 46 MB: owner bytes and indexes), the V8 heap (≈ 35 MB), V8\'s young generation filled by the restore (≈ 32 MB until V8 shrinks it when idle), the node binary\'s pages (≈ 44 MB, as in an empty node); the leader keeps a few MB more of glibc heap after sending its snapshot (serve collects the young generation every MiB of snapshot traffic, so the chunks\' Buffers do not pile up)'],
];

export function limitedBy(id: string): string | undefined {
  return TABLE.find(([re]) => re.test(id))?.[1];
}
