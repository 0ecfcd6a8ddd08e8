/** `raft-ipam certs`: create a dev cluster CA and node certificates as PEM files. Thin over src/transport/certs. */
import type { Command } from 'commander';
import { checkExistingCerts, DEFAULT_CERT_DAYS, DEFAULT_CERT_IPS, writeClusterCerts } from '../transport/certs.js';
import { TransportError } from '../transport/errors.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

function days(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36_500) throw new TransportError('InvalidArgument', `--days must be an integer in 1..36500, got ${JSON.stringify(v)}`);
  return n;
}

export function registerCertsCommand(program: Command, print: (line: string) => void = (l) => console.log(l)): void {
  program
    .command('certs')
    .description('create a dev cluster CA and per-node certificates (ECDSA P-256, CN = node id) for mutual TLS')
    .requiredOption('--out <dir>', 'directory for ca.pem, ca-key.pem, <node>.pem, <node>-key.pem')
    .requiredOption('--nodes <ids>', 'comma-separated node ids, e.g. n1,n2,n3', list)
    .option('--ip <ips>', `comma-separated IP SANs for every node (default ${DEFAULT_CERT_IPS.join(',')})`, list)
    .option('--days <n>', `validity in days (default ${DEFAULT_CERT_DAYS})`, days)
    .option('--force', 'overwrite existing files')
    .option('--keep-existing', 'succeed without writing when --out already holds a complete set for these nodes and IPs (a partial or outdated set is still refused)')
    .action(async (o: { out: string; nodes: string[]; ip?: string[]; days?: number; force?: boolean; keepExisting?: boolean }) => {
      if (o.force === true && o.keepExisting === true) throw new TransportError('InvalidArgument', 'choose --force or --keep-existing, not both');
      // A container orchestrator runs the certs step on every start; the second run must keep the CA the
      // running nodes trust rather than fail (or, with --force, replace it under them).
      if (o.keepExisting === true && (await checkExistingCerts(o.out, o.nodes, o.ip ?? DEFAULT_CERT_IPS)) === 'complete') {
        print(`kept the existing certificates in ${o.out}`);
        return;
      }
      // Loaded here, not at the top: every CLI process (a serving node too) imports this module, and the
      // certificate library costs ≈ 20 MB of RSS that only this command needs.
      const { createClusterCerts } = await import('../transport/cert-authority.js');
      const certs = await createClusterCerts({ nodes: o.nodes, ...(o.ip ? { ips: o.ip } : {}), ...(o.days !== undefined ? { days: o.days } : {}) });
      for (const path of await writeClusterCerts(o.out, certs, { force: o.force === true })) print(path);
    });
}
