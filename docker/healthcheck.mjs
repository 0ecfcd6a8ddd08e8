// Container health probe: exit 0 when this node answers 200 on GET /readyz, 1 otherwise.
// Why a file of its own: the images have no shell, curl or wget (the scratch image has nothing but node),
// and starting the whole CLI every few seconds on three nodes would cost more CPU than the probe is worth.
// The URL is argv[2], or built from RAFT_IPAM_LISTEN_CLIENT, the same setting `raft-ipam serve` listens on.
const arg = process.argv[2];
let url = arg;
if (url === undefined) {
  const listen = process.env.RAFT_IPAM_LISTEN_CLIENT;
  if (!listen) {
    console.error('healthcheck: pass a URL or set RAFT_IPAM_LISTEN_CLIENT');
    process.exit(1);
  }
  // A wildcard listen address is reachable on loopback; connecting to 0.0.0.0 itself is not portable.
  url = `http://${listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}/readyz`;
}
try {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) console.error(`healthcheck: ${url} answered ${r.status}`);
  process.exit(r.ok ? 0 : 1);
} catch (e) {
  console.error(`healthcheck: ${url}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
