/**
 * vitest global setup: make sure a Docker engine runs before any test file starts, so that `npm test` on a
 * fresh clone needs nothing done by hand (the container tests are part of the suite and never skip).
 * scripts/docker-engine.sh returns at once when `docker info` answers; otherwise it installs Debian's
 * engine if missing and starts it (as .ci/run does). The image itself is built by the tests that need it
 * (cluster/docker.ts ensureImage), once per run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'docker-engine.sh');
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  if (r.status !== 0) throw new Error(`scripts/docker-engine.sh failed (exit ${r.status ?? r.signal}): the container tests need a Docker engine`);
}
