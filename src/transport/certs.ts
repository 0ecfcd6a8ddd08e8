/**
 * Dev-cluster certificates: one cluster CA and one certificate per node, ECDSA P-256, as PEM files.
 *
 * Identity convention (what tcp.ts checks): a node's certificate has subject CN = node id, and SANs with
 * DNS:<node id>, DNS:localhost and the node's IP addresses. The TLS server authenticates a client by the
 * CN of a certificate the cluster CA issued; a client checks the server's SAN against the address it dialled
 * (Node's checkServerIdentity) and its CN against the peer it meant to reach. Both EKUs (serverAuth and
 * clientAuth) are set because every node is both: it accepts peers and dials them.
 *
 * Files in a directory: ca.pem, ca-key.pem, <node>.pem, <node>-key.pem; keys are written mode 0600.
 *
 * This module reads, checks and writes that material; creating it (cert-authority.ts) needs
 * @peculiar/x509, which a serving node never loads (≈ 20 MB of RSS).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { TransportError, validateNodeId } from './errors.js';

export const DEFAULT_CERT_DAYS = 365;
export const DEFAULT_CERT_IPS: readonly string[] = ['127.0.0.1', '::1'];

export interface PemPair {
  cert: string;
  key: string;
}

export interface ClusterCerts {
  ca: PemPair;
  nodes: Map<string, PemPair>;
}

/** What a TLS endpoint needs: the cluster CA to verify peers, and this node's certificate and key. */
export interface NodeTlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export function validateDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new TransportError('InvalidArgument', `days must be an integer in 1..36500, got ${String(days)}`);
  }
  return days;
}

export function validateIps(ips: readonly unknown[]): string[] {
  if (ips.length === 0) throw new TransportError('InvalidArgument', 'at least one IP address is needed for the SAN');
  return ips.map((ip) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) throw new TransportError('InvalidArgument', `not an IP address: ${JSON.stringify(ip)}`);
    return ip;
  });
}

export function validateNodes(nodes: readonly unknown[]): string[] {
  if (nodes.length === 0) throw new TransportError('InvalidArgument', 'at least one node id is needed');
  const ids = nodes.map((n) => validateNodeId(n));
  if (new Set(ids).size !== ids.length) throw new TransportError('InvalidArgument', 'node ids must be distinct');
  // These names become file names next to ca.pem / ca-key.pem.
  for (const id of ids) if (id === 'ca') throw new TransportError('InvalidArgument', 'node id "ca" would collide with the CA files');
  return ids;
}

/** File names of the material in a cert directory. */
export function certFiles(dir: string, nodeId: string): { cert: string; key: string } {
  return { cert: join(dir, `${nodeId}.pem`), key: join(dir, `${nodeId}-key.pem`) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Write the CA and node material as PEM. Refuses (CertExists) when any target file exists unless `force`:
 * overwriting a CA key silently would orphan every certificate it signed. Keys get mode 0600.
 * Returns the paths written.
 */
export async function writeClusterCerts(dir: string, certs: ClusterCerts, options: { force?: boolean } = {}): Promise<string[]> {
  const files: Array<{ path: string; data: string; secret: boolean }> = [
    { path: join(dir, 'ca.pem'), data: certs.ca.cert, secret: false },
    { path: join(dir, 'ca-key.pem'), data: certs.ca.key, secret: true },
  ];
  for (const [id, pair] of certs.nodes) {
    const f = certFiles(dir, validateNodeId(id));
    files.push({ path: f.cert, data: pair.cert, secret: false }, { path: f.key, data: pair.key, secret: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!options.force) {
    const present = [];
    for (const f of files) if (await exists(f.path)) present.push(f.path);
    if (present.length > 0) throw new TransportError('CertExists', `refusing to overwrite ${present.join(', ')} (use --force)`);
  }
  for (const f of files) {
    const mode = f.secret ? 0o600 : 0o644;
    // 'wx' without force closes the race between the check above and the write.
    await writeFile(f.path, f.data, { mode, flag: options.force ? 'w' : 'wx' });
    // writeFile's mode only applies when it creates the file; a forced overwrite must tighten it too.
    await chmod(f.path, mode);
  }
  return files.map((f) => f.path);
}

/**
 * Whether `dir` already holds a usable set for `nodes`: 'absent' when none of the files exists, 'complete'
 * when the CA and every node's certificate and key exist, load (loadNodeTls), and name every IP in `ips`
 * as a SAN. Anything in between throws CertExists: a partial or outdated set cannot be completed without
 * re-signing, and silently replacing it would orphan certificates that running nodes still hold.
 * This is what lets a one-shot certs step (a compose service) run again on every `up`.
 */
export async function checkExistingCerts(dir: string, nodes: readonly string[], ips: readonly string[] = DEFAULT_CERT_IPS): Promise<'absent' | 'complete'> {
  const ids = validateNodes(nodes);
  const wanted = validateIps(ips);
  const paths = [join(dir, 'ca.pem'), join(dir, 'ca-key.pem'), ...ids.flatMap((id) => Object.values(certFiles(dir, id)))];
  const present: string[] = [];
  for (const p of paths) if (await exists(p)) present.push(p);
  if (present.length === 0) return 'absent';
  if (present.length < paths.length) {
    const missing = paths.filter((p) => !present.includes(p));
    throw new TransportError('CertExists', `${dir} holds a partial certificate set (missing ${missing.join(', ')}); remove it or use --force`);
  }
  for (const id of ids) {
    const tls = await loadNodeTls(dir, id);
    const cert = new X509Certificate(tls.cert);
    const lacking = wanted.filter((ip) => !cert.checkIP(ip));
    if (lacking.length > 0) throw new TransportError('CertExists', `the existing certificate of ${id} in ${dir} has no SAN for ${lacking.join(', ')}; remove the set or use --force`);
  }
  return 'complete';
}

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new TransportError('CertInvalid', `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The node id a certificate names (its subject CN), or null. */
export function certNodeId(cert: X509Certificate): string | null {
  const m = /^CN=(.*)$/m.exec(cert.subject);
  return m ? m[1]! : null;
}

/**
 * Load and check a node's TLS material from a cert directory: the certificate must be issued by the CA in
 * the same directory, name `nodeId` as CN, and match the private key. A mismatch found here is a clear
 * startup error instead of an opaque handshake failure later.
 */
export async function loadNodeTls(dir: string, nodeId: string): Promise<NodeTlsMaterial> {
  const id = validateNodeId(nodeId);
  const files = certFiles(dir, id);
  const [ca, cert, key] = await Promise.all([readPem(join(dir, 'ca.pem')), readPem(files.cert), readPem(files.key)]);
  checkNodeTls({ ca, cert, key }, id);
  return { ca, cert, key };
}

/** Check TLS material in memory (see loadNodeTls). Throws CertInvalid. */
export function checkNodeTls(material: NodeTlsMaterial, nodeId: string): void {
  let caCert: X509Certificate;
  let nodeCert: X509Certificate;
  try {
    caCert = new X509Certificate(material.ca);
    nodeCert = new X509Certificate(material.cert);
  } catch (e) {
    throw new TransportError('CertInvalid', `certificate PEM does not parse: ${(e as Error).message}`);
  }
  if (!caCert.ca) throw new TransportError('CertInvalid', 'ca.pem is not a CA certificate');
  if (!nodeCert.checkIssued(caCert) || !nodeCert.verify(caCert.publicKey)) {
    throw new TransportError('CertInvalid', `the certificate of ${nodeId} was not issued by the cluster CA`);
  }
  const cn = certNodeId(nodeCert);
  if (cn !== nodeId) throw new TransportError('CertInvalid', `the certificate names ${JSON.stringify(cn)}, not ${nodeId}`);
  let matches: boolean;
  try {
    matches = nodeCert.checkPrivateKey(createPrivateKey(material.key));
  } catch (e) {
    throw new TransportError('CertInvalid', `the private key of ${nodeId} does not parse: ${(e as Error).message}`);
  }
  if (!matches) throw new TransportError('CertInvalid', `the private key does not match the certificate of ${nodeId}`);
}
