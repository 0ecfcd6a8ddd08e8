/**
 * fast-check run counts. The mutation run (vitest.mutate.config.ts sets RAFT_IPAM_MUTATION=1) re-runs the
 * property tests for every mutant they cover, so there they take a quarter of the runs (at least 40):
 * a mutant that only the 3000th random case catches is rare, and the example tests carry most kills.
 * `npm test` always runs the full count.
 */
export function runs(n: number): number {
  return process.env.RAFT_IPAM_MUTATION === '1' ? Math.max(40, Math.ceil(n / 4)) : n;
}
