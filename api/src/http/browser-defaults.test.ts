import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createApiKey, verifyDeviceCredential } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startFixture, TENANT, VEHICLE_A, type Fixture } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-browser-tests-0123';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, because fetch will not send a foreign Host header or let a body trickle. */
function raw(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url + options.path,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('browser-facing defaults in dev mode (finding 12.6)', () => {
  let fx: Fixture;
  let password: string;

  beforeAll(async () => {
    fx = await startFixture({ allowedHosts: ['clutch.example'] });
    const res = await call(fx.api.url, 'POST', '/api/devices', {
      body: { tenantId: TENANT, deviceId: 'pi-csrf', vehicleId: VEHICLE_A },
    });
    expect(res.status).toBe(201);
    password = (res.body.login as { password: string }).password;
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('regression 12.6: a cross-site text/plain POST cannot rotate a device credential in development mode', async () => {
    // What a hostile page can send without a preflight: a form or a no-cors fetch with a "simple" type.
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await fetch(`${fx.api.url}/api/devices/${TENANT}/pi-csrf/credentials`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: '{}',
      });
      expect(res.status, contentType).toBe(415);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    // A bodiless simple POST too: no JSON type, no custom header.
    const bare = await fetch(`${fx.api.url}/api/devices/${TENANT}/pi-csrf/credentials`, { method: 'POST' });
    expect(bare.status).toBe(415);
    await bare.body?.cancel();
    // The car is still online with its password.
    expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-csrf', password)).toBe(true);
  });

  it('still lets the same-origin clients change state: JSON, X-Requested-With or a bearer token', async () => {
    const json = await fetch(`${fx.api.url}/api/devices/${TENANT}/pi-csrf/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(200);
    await json.body?.cancel();
    const marked = await fetch(`${fx.api.url}/api/devices/${TENANT}/pi-csrf/credentials`, {
      method: 'DELETE',
      headers: { 'x-requested-with': 'fetch' },
    });
    expect(marked.status).toBe(204);
  });

  it('regression 12.6: answers only to allowed Host names (DNS rebinding), on the API, the pages and Socket.io', async () => {
    const refused = await raw(fx.api.url, {
      path: '/api/vehicles',
      headers: { host: `rebind.attacker.example:${fx.api.port}` },
    });
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
    expect(refused.body).not.toContain(VEHICLE_A);
    for (const host of [
      `localhost:${fx.api.port}`,
      `127.0.0.1:${fx.api.port}`,
      `[::1]:${fx.api.port}`,
      'clutch.example',
      'CLUTCH.example:8443',
    ]) {
      expect((await raw(fx.api.url, { path: '/api/vehicles', headers: { host } })).status, host).toBe(200);
    }
    const polling = '/socket.io/?EIO=4&transport=polling';
    expect((await raw(fx.api.url, { path: polling, headers: { host: 'rebind.attacker.example' } })).status).toBe(403);
    expect((await raw(fx.api.url, { path: polling, headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect(
      (await raw(fx.api.url, { path: polling, headers: { origin: `http://127.0.0.1:${fx.api.port}` } })).status,
    ).toBe(200);
    expect((await raw(fx.api.url, { path: polling })).status).toBe(200);
  });

  it('shows the health details to the dev-mode administrator', async () => {
    const res = await call(fx.api.url, 'GET', '/api/health');
    expect(res.body).toMatchObject({ status: 'up', components: { database: { status: 'up' } } });
  });

  it('marks tenant data no-store, and leaves the public catalogue cacheable', async () => {
    expect((await call(fx.api.url, 'GET', '/api/vehicles')).headers.get('cache-control')).toBe('no-store');
    expect((await call(fx.api.url, 'GET', `/api/vehicles/${VEHICLE_A}/latest`)).headers.get('cache-control')).toBe(
      'no-store',
    );
    expect((await call(fx.api.url, 'GET', '/api/signals')).headers.get('cache-control')).not.toBe('no-store');
  });
});

describe('requests with auth required (finding 12.6)', () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      bodyTimeoutMs: 300,
      connections: { requestTimeoutMs: 1500, headersTimeoutMs: 1000, maxConnections: 20 },
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('regression 12.6: authenticates before reading the body, so an anonymous caller gets 401 whatever it sends', async () => {
    const broken = await fetch(`${fx.api.url}/api/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"tenantId":',
    });
    expect(broken.status).toBe(401);
    const huge = await fetch(`${fx.api.url}/api/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"x":"${'a'.repeat(300_000)}"}`,
    });
    expect(huge.status).toBe(401);
    const admin = await fetch(`${fx.api.url}/api/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: '{"tenantId":',
    });
    expect(admin.status).toBe(400);
    expect(((await admin.json()) as { code: string }).code).toBe('BAD_REQUEST');
    const tooLarge = await call(fx.api.url, 'POST', '/api/tenants', {
      token: ADMIN,
      body: { id: 'x', name: 'a'.repeat(300_000) },
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('regression 12.6: a slowly sent body is cut off after seconds, not held for 300 s', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(fx.api.port, '127.0.0.1', () => {
        socket.write(
          `POST /api/tenants HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`,
        );
      });
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('closes a connection whose headers never finish within the headers timeout', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(fx.api.port, '127.0.0.1', () =>
        socket.write('GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: '),
      );
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('caps open connections', async () => {
    const held = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect(fx.api.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    try {
      const extra = connect(fx.api.port, '127.0.0.1');
      const closed = await new Promise<boolean>((resolve) => {
        extra.on('close', () => resolve(true));
        extra.on('error', () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      expect(closed).toBe(true);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('regression 12.6: public /api/health shows only up/down to anonymous callers and partners, details to admins', async () => {
    const anonymous = await call(fx.api.url, 'GET', '/api/health');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ status: 'up' });
    const partner = (await createApiKey(fx.db, { tenantId: TENANT, name: 'health', scopes: ['status:read'] })).token;
    expect((await call(fx.api.url, 'GET', '/api/health', { token: partner })).body).toEqual({ status: 'up' });
    const admin = await call(fx.api.url, 'GET', '/api/health', { token: ADMIN });
    expect(admin.body).toMatchObject({
      status: 'up',
      components: { database: { status: 'up' }, broker: { status: 'up' } },
    });
    expect((await call(fx.api.url, 'GET', '/api/health', { token: 'wrong' })).status).toBe(401);
  });

  it('sends no-store on refusals of tenant routes too', async () => {
    const res = await call(fx.api.url, 'GET', '/api/vehicles');
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
