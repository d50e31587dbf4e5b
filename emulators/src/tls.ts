import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway certificate authority and one server certificate it signed, all PEM. */
export interface TestTls {
  /** The CA certificate: what a client trusts (`ca` of an agent or TLS connection). */
  ca: string;
  /** The server's certificate and private key (`cert`/`key` of a TLS server). */
  cert: string;
  key: string;
  /** The names the server certificate is valid for. */
  hosts: readonly string[];
}

/**
 * Makes a test CA and a server certificate for `hosts` (DNS names or IP addresses) with the `openssl`
 * CLI. Push SDKs insist on HTTPS (Web Push, FCM, APNs), so the emulators serve TLS with this and the
 * adapters under test trust `ca` through their agent options: no `rejectUnauthorized: false` anywhere.
 * EC P-256 keys, so it takes milliseconds; valid for two days.
 */
export async function createTestTls(hosts: readonly string[] = ['localhost', '127.0.0.1']): Promise<TestTls> {
  if (hosts.length === 0) throw new Error('createTestTls: at least one host');
  for (const h of hosts) {
    if (!/^[A-Za-z0-9.*:-]+$/.test(h)) throw new Error(`createTestTls: not a host name: ${JSON.stringify(h)}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'clutch-tls-'));
  const at = (name: string) => join(dir, name);
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=Clutch emulator test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      at('leaf.key'),
      '-out',
      at('leaf.csr'),
      '-subj',
      `/CN=${hosts[0]}`,
    ]);
    const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    await writeFile(
      at('leaf.ext'),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('leaf.csr'),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      at('leaf.ext'),
      '-out',
      at('leaf.pem'),
    ]);
    const [ca, cert, key] = await Promise.all([
      readFile(at('ca.pem'), 'utf8'),
      readFile(at('leaf.pem'), 'utf8'),
      readFile(at('leaf.key'), 'utf8'),
    ]);
    return { ca, cert, key, hosts: [...hosts] };
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw new Error('createTestTls: the openssl CLI is not installed');
    throw new Error(`createTestTls: openssl failed: ${e.stderr ?? e.message ?? String(err)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
