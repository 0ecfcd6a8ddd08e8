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
 */
import 'reflect-metadata'; // @peculiar/x509 2.x (tsyringe) needs the polyfill loaded before it
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { TransportError, validateNodeId } from './errors.js';

// The project's `lib` has no DOM `Crypto` type, so Node's webcrypto is handed over through the parameter type.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Certificates start a little in the past so a peer whose clock is slightly behind still accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CERT_DAYS = 365;
export const DEFAULT_CERT_IPS: readonly string[] = ['127.0.0.1', '::1'];

export interface PemPair {
  cert: string;
  key: string;
}

/** A CA that can sign: its PEM plus the live signing key. */
export interface ClusterCa extends PemPair {
  readonly signingKey: webcrypto.CryptoKey;
  readonly certificate: x509.X509Certificate;
}

export interface ClusterCerts {
  ca: PemPair;
  nodes: Map<string, PemPair>;
}

export interface CreateCertsOptions {
  nodes: readonly string[];
  /** IP SANs written into every node certificate (default 127.0.0.1 and ::1). */
  ips?: readonly string[];
  /** Validity in days (default 365). */
  days?: number;
  /** CA common name (default "raft-ipam dev cluster CA"). */
  caName?: string;
}

/** What a TLS endpoint needs: the cluster CA to verify peers, and this node's certificate and key. */
export interface NodeTlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

function validateDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new TransportError('InvalidArgument', `days must be an integer in 1..36500, got ${String(days)}`);
  }
  return days;
}

function validateIps(ips: readonly unknown[]): string[] {
  if (ips.length === 0) throw new TransportError('InvalidArgument', 'at least one IP address is needed for the SAN');
  return ips.map((ip) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) throw new TransportError('InvalidArgument', `not an IP address: ${JSON.stringify(ip)}`);
    return ip;
  });
}

function validateNodes(nodes: readonly unknown[]): string[] {
  if (nodes.length === 0) throw new TransportError('InvalidArgument', 'at least one node id is needed');
  const ids = nodes.map((n) => validateNodeId(n));
  if (new Set(ids).size !== ids.length) throw new TransportError('InvalidArgument', 'node ids must be distinct');
  // These names become file names next to ca.pem / ca-key.pem.
  for (const id of ids) if (id === 'ca') throw new TransportError('InvalidArgument', 'node id "ca" would collide with the CA files');
  return ids;
}

/** Positive serial (high bit clear) of 128 random bits, as RFC 5280 §4.1.2.2 asks. */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

export async function createClusterCa(options: { days?: number; name?: string } = {}): Promise<ClusterCa> {
  const days = validateDays(options.days ?? DEFAULT_CERT_DAYS);
  const name = options.name ?? 'raft-ipam dev cluster CA';
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(name)) throw new TransportError('InvalidArgument', `CA name must be 1..64 of [A-Za-z0-9 ._-], got ${JSON.stringify(name)}`);
  const keys = (await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${name}`,
    keys: keys,
    signingAlgorithm: SIGN_ALG,
    ...validity(days),
    extensions: [
      // pathLength 0: the dev CA signs node certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString('pem'), key: await keyPem(keys.privateKey), signingKey: keys.privateKey, certificate };
}

export async function createNodeCert(ca: ClusterCa, nodeId: string, options: { ips?: readonly string[]; days?: number } = {}): Promise<PemPair> {
  const id = validateNodeId(nodeId);
  const ips = validateIps(options.ips ?? DEFAULT_CERT_IPS);
  const days = validateDays(options.days ?? DEFAULT_CERT_DAYS);
  const keys = (await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const dns = id === 'localhost' ? ['localhost'] : [id, 'localhost'];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${id}`,
    issuer: ca.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGN_ALG,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([...ips.map((value) => ({ type: 'ip' as const, value })), ...dns.map((value) => ({ type: 'dns' as const, value }))]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
  return { cert: certificate.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** A fresh CA and a certificate for each node. */
export async function createClusterCerts(options: CreateCertsOptions): Promise<ClusterCerts & { caSigner: ClusterCa }> {
  const nodes = validateNodes(options.nodes);
  const ips = validateIps(options.ips ?? DEFAULT_CERT_IPS);
  const days = validateDays(options.days ?? DEFAULT_CERT_DAYS);
  const ca = await createClusterCa({ days, ...(options.caName !== undefined ? { name: options.caName } : {}) });
  const out = new Map<string, PemPair>();
  for (const id of nodes) out.set(id, await createNodeCert(ca, id, { ips, days }));
  return { ca: { cert: ca.cert, key: ca.key }, nodes: out, caSigner: ca };
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
