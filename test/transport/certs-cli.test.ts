import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadNodeTls } from '../../src/transport/certs.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('raft-ipam certs', () => {
  it('writes a loadable CA and node set, refuses to overwrite without --force, and validates its options', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'ripam-certs-cli-')), 'tls');
    const first = await cli('certs', '--out', out, '--nodes', 'n1,n2,n3', '--ip', '127.0.0.1,127.0.0.2', '--days', '7');
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n').map((p) => p.slice(out.length + 1))).toEqual(['ca.pem', 'ca-key.pem', 'n1.pem', 'n1-key.pem', 'n2.pem', 'n2-key.pem', 'n3.pem', 'n3-key.pem']);
    for (const id of ['n1', 'n2', 'n3']) {
      const tls = await loadNodeTls(out, id);
      expect(new X509Certificate(tls.cert).subjectAltName).toBe(`IP Address:127.0.0.1, IP Address:127.0.0.2, DNS:${id}, DNS:localhost`);
      expect((await stat(join(out, `${id}-key.pem`))).mode & 0o777).toBe(0o600);
    }
    const caKey = await readFile(join(out, 'ca-key.pem'), 'utf8');

    const again = await cli('certs', '--out', out, '--nodes', 'n1');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('error [CertExists]');
    expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).toBe(caKey);

    const forced = await cli('certs', '--out', out, '--nodes', 'n1', '--force');
    expect(forced.code).toBe(0);
    expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).not.toBe(caKey);

    const badDays = await cli('certs', '--out', join(out, 'x'), '--nodes', 'n1', '--days', 'ten');
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toContain('error [InvalidArgument]');
    const badIp = await cli('certs', '--out', join(out, 'y'), '--nodes', 'n1', '--ip', '10.0.0.300');
    expect(badIp.code).toBe(2);
    expect(badIp.stderr).toContain('error [InvalidArgument]');
  });

  it('--keep-existing: writes a missing set, keeps a complete one, refuses a partial or outdated one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ripam-certs-keep-'));
    try {
      const out = join(root, 'tls');
      const args = ['certs', '--out', out, '--nodes', 'n1,n2', '--ip', '127.0.0.11,127.0.0.12', '--keep-existing'];
      const first = await cli(...args);
      expect(first.code).toBe(0);
      expect(first.stdout.trim().split('\n')).toHaveLength(6);
      const caKey = await readFile(join(out, 'ca-key.pem'), 'utf8');

      // The second run (a compose `up` after a restart) keeps the CA the nodes already trust.
      const second = await cli(...args);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('kept the existing certificates');
      expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).toBe(caKey);
      // Asking for a subset of the IPs the certificates carry is still complete.
      expect((await cli('certs', '--out', out, '--nodes', 'n1', '--ip', '127.0.0.12', '--keep-existing')).code).toBe(0);

      // An address the certificates do not name, or a node without files: keeping them would fail later
      // at the TLS handshake, so the command refuses now and writes nothing.
      const newIp = await cli('certs', '--out', out, '--nodes', 'n1,n2', '--ip', '127.0.0.13', '--keep-existing');
      expect(newIp.code).toBe(2);
      expect(newIp.stderr).toMatch(/error \[CertExists\].*n1.*127\.0\.0\.13/);
      const newNode = await cli('certs', '--out', out, '--nodes', 'n1,n2,n3', '--ip', '127.0.0.11', '--keep-existing');
      expect(newNode.code).toBe(2);
      expect(newNode.stderr).toMatch(/error \[CertExists\].*partial.*n3\.pem/);
      expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).toBe(caKey);

      const both = await cli('certs', '--out', out, '--nodes', 'n1', '--force', '--keep-existing');
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('error [InvalidArgument]');
      expect(await readFile(join(out, 'ca-key.pem'), 'utf8')).toBe(caKey);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
