/**
 * Creating dev-cluster certificates (`raft-ipam certs`, the cluster harness): a CA and node certificates,
 * ECDSA P-256, with the identity convention certs.ts describes. Node's crypto cannot create certificates,
 * so this takes @peculiar/x509 — loaded only by the code that creates them, never by a serving node.
 */
import 'reflect-metadata'; // @peculiar/x509 2.x (tsyringe) needs the polyfill loaded before it
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { DEFAULT_CERT_DAYS, DEFAULT_CERT_IPS, validateDays, validateIps, validateNodes, type ClusterCerts, type PemPair } from './certs.js';
import { TransportError, validateNodeId } from './errors.js';

// The project's `lib` has no DOM `Crypto` type, so Node's webcrypto is handed over through the parameter type.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Certificates start a little in the past so a peer whose clock is slightly behind still accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A CA that can sign: its PEM plus the live signing key. */
export interface ClusterCa extends PemPair {
  readonly signingKey: webcrypto.CryptoKey;
  readonly certificate: x509.X509Certificate;
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
