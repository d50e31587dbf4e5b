import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeviceUsername } from '@clutch/identity';

/**
 * A development certificate authority made with the `openssl` CLI (no shell; every argument is
 * passed as is): a CA, a server certificate for localhost/127.0.0.1 and one client certificate per
 * device whose subject CN is `{tenant}/{device}`, the identity the TLS listener accepts in place of
 * a password. Existing files are kept, so running it again only adds the devices that are new.
 * Not for production: keys are unencrypted and nothing is revocable but the device credential.
 */
export interface DevCaFiles {
  ca: { cert: string; key: string };
  server: { cert: string; key: string };
  devices: Array<{ username: string; cert: string; key: string }>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(bin: string, args: string[]): void {
  const out = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.error) throw new Error(`cannot run ${bin}: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`${bin} ${args[0]} failed: ${out.stderr.trim()}`);
}

/** `-subj` separates RDNs with `/`, so the one in `{tenant}/{device}` is escaped. */
function subject(commonName: string): string {
  return `/CN=${commonName.replaceAll('\\', '\\\\').replaceAll('/', '\\/')}`;
}

export function createDevCa(options: {
  outDir: string;
  devices?: readonly string[];
  openssl?: string;
  days?: number;
}): DevCaFiles {
  const bin = options.openssl ?? 'openssl';
  const days = String(options.days ?? 825);
  const devices = (options.devices ?? []).map((username) => {
    const parsed = parseDeviceUsername(username);
    if (!parsed) throw new Error(`device ${JSON.stringify(username)} is not tenant/device`);
    return parsed;
  });
  mkdirSync(options.outDir, { recursive: true });
  const file = (...parts: string[]): string => join(options.outDir, ...parts);

  const ca = { cert: file('ca.crt'), key: file('ca.key') };
  if (!existsSync(ca.cert) || !existsSync(ca.key)) {
    openssl(bin, [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      ca.key,
      '-out',
      ca.cert,
      '-days',
      '3650',
      '-subj',
      '/CN=Clutch development CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  const signed = (cert: string, key: string, commonName: string, extensions: string[]): void => {
    openssl(bin, [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      days,
      '-subj',
      subject(commonName),
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      ...extensions.flatMap((e) => ['-addext', e]),
    ]);
  };

  const server = { cert: file('server.crt'), key: file('server.key') };
  if (!existsSync(server.cert) || !existsSync(server.key)) {
    signed(server.cert, server.key, 'localhost', [
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      'extendedKeyUsage=serverAuth',
    ]);
  }

  const issued = devices.map(({ tenantId, deviceId }) => {
    mkdirSync(file('devices', tenantId), { recursive: true });
    const paths = {
      username: `${tenantId}/${deviceId}`,
      cert: file('devices', tenantId, `${deviceId}.crt`),
      key: file('devices', tenantId, `${deviceId}.key`),
    };
    if (!existsSync(paths.cert) || !existsSync(paths.key))
      signed(paths.cert, paths.key, paths.username, ['extendedKeyUsage=clientAuth']);
    return paths;
  });
  return { ca, server, devices: issued };
}
