import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTls, type TestTls } from './tls.js';

describe('test TLS (openssl CLI)', () => {
  let tls: TestTls;
  let port: number;
  const server = createServer();
  beforeAll(async () => {
    tls = await createTestTls(['fcm.googleapis.com', '127.0.0.1']);
    server.setSecureContext({ key: tls.key, cert: tls.cert });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const handshake = (servername: string | undefined, ca: string | undefined) =>
    new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ...(ca ? { ca } : {}) });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('ok');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });

  it('is trusted for the names it was made for, through its CA only', async () => {
    expect(await handshake('fcm.googleapis.com', tls.ca)).toBe('ok');
    expect(await handshake(undefined, tls.ca)).toBe('ok');
    expect(await handshake('example.com', tls.ca)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await handshake('fcm.googleapis.com', undefined)).not.toBe('ok');
  });

  it('refuses host names that are not names', async () => {
    await expect(createTestTls(['a b'])).rejects.toThrow(/not a host name/);
    await expect(createTestTls([])).rejects.toThrow();
  });
});
