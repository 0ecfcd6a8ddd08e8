import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClusterCerts } from '../../src/transport/cert-authority.js';
import { checkNodeTls, loadNodeTls, writeClusterCerts } from '../../src/transport/certs.js';

describe('dev-cluster certificates', () => {
  it('creates a CA and node certs: CN = node id, SAN IPs + DNS, both EKUs, ECDSA P-256, issued by the CA', async () => {
    const certs = await createClusterCerts({ nodes: ['n1', 'n2'], ips: ['127.0.0.1', '::1', '127.0.0.2'], days: 10 });
    const ca = new X509Certificate(certs.ca.cert);
    expect(ca.ca).toBe(true);
    for (const id of ['n1', 'n2']) {
      const c = new X509Certificate(certs.nodes.get(id)!.cert);
      expect(c.subject).toBe(`CN=${id}`);
      expect(c.subjectAltName).toBe(`IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.2, DNS:${id}, DNS:localhost`);
      expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(c.checkIP('::1')).toBeDefined();
      expect(c.checkHost(id)).toBe(id);
      expect(c.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
      expect(c.ca).toBe(false);
      expect(c.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
      expect(c.checkIssued(ca) && c.verify(ca.publicKey)).toBe(true);
      const days = (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000;
      expect(days).toBeGreaterThan(10);
      expect(days).toBeLessThan(10.01);
    }
  });

  it('writes PEM files with keys at mode 0600, refuses to overwrite without force, and loads them back checked', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'ripam-certs-')), 'out');
    const certs = await createClusterCerts({ nodes: ['n1', 'n2'] });
    const written = await writeClusterCerts(dir, certs);
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['ca-key.pem', 'ca.pem', 'n1-key.pem', 'n1.pem', 'n2-key.pem', 'n2.pem']);
    for (const f of ['ca-key.pem', 'n1-key.pem', 'n2-key.pem']) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'ca.pem'))).mode & 0o777).toBe(0o644);
    const before = await readFile(join(dir, 'ca-key.pem'), 'utf8');
    const other = await createClusterCerts({ nodes: ['n1', 'n2'] });
    await expect(writeClusterCerts(dir, other)).rejects.toMatchObject({ code: 'CertExists' });
    expect(await readFile(join(dir, 'ca-key.pem'), 'utf8')).toBe(before);
    const n1 = await loadNodeTls(dir, 'n1');
    expect(n1).toEqual({ ca: certs.ca.cert, cert: certs.nodes.get('n1')!.cert, key: certs.nodes.get('n1')!.key });
    await writeClusterCerts(dir, other, { force: true });
    expect(await readFile(join(dir, 'ca-key.pem'), 'utf8')).toBe(other.ca.key);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('loading refuses missing files, a foreign CA, another node\'s cert, and a mismatched key (CertInvalid)', async () => {
    const a = await createClusterCerts({ nodes: ['n1', 'n2'] });
    const b = await createClusterCerts({ nodes: ['n1'] });
    const n1 = a.nodes.get('n1')!;
    await expect(loadNodeTls(await mkdtemp(join(tmpdir(), 'ripam-empty-')), 'n1')).rejects.toMatchObject({ code: 'CertInvalid' });
    expect(() => checkNodeTls({ ca: b.ca.cert, ...n1 }, 'n1')).toThrow(expect.objectContaining({ code: 'CertInvalid', message: expect.stringContaining('not issued') }));
    expect(() => checkNodeTls({ ca: a.ca.cert, ...n1 }, 'n2')).toThrow(expect.objectContaining({ code: 'CertInvalid', message: expect.stringContaining('names') }));
    expect(() => checkNodeTls({ ca: a.ca.cert, cert: n1.cert, key: a.nodes.get('n2')!.key }, 'n1')).toThrow(expect.objectContaining({ code: 'CertInvalid', message: expect.stringContaining('does not match') }));
    expect(() => checkNodeTls({ ca: 'garbage', ...n1 }, 'n1')).toThrow(expect.objectContaining({ code: 'CertInvalid' }));
    expect(() => checkNodeTls({ ca: n1.cert, ...n1 }, 'n1')).toThrow(expect.objectContaining({ code: 'CertInvalid', message: expect.stringContaining('not a CA') }));
    const dir = await mkdtemp(join(tmpdir(), 'ripam-badkey-'));
    await writeClusterCerts(dir, a);
    await writeFile(join(dir, 'n1-key.pem'), 'not a key');
    await expect(loadNodeTls(dir, 'n1')).rejects.toMatchObject({ code: 'CertInvalid' });
  });

  it('refuses invalid options with InvalidArgument', async () => {
    for (const bad of [
      { nodes: [] },
      { nodes: ['n1', 'n1'] },
      { nodes: ['bad/id'] },
      { nodes: ['ca'] },
      { nodes: ['n1'], ips: ['not-an-ip'] },
      { nodes: ['n1'], ips: [] },
      { nodes: ['n1'], days: 0 },
      { nodes: ['n1'], days: 1.5 },
    ]) {
      await expect(createClusterCerts(bad)).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
  });
});
