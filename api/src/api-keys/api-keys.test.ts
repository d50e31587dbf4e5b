import { refuseCommits } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  recordEvents,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';

// Issue 12, finding 3 (key lifecycle): expiry, listing, and revocation that reaches live sessions.
describe.each(backends('api_keys'))('API key lifecycle over REST on %s', (_name, open) => {
  let fx: Fixture;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);
  const create = (body: Record<string, unknown>): Promise<Reply> =>
    api('POST', '/api/api-keys', {
      token: ADMIN,
      body: { tenantId: TENANT, name: 'k', scopes: ['status:read'], ...body },
    });

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('creates a key with an expiry, which REST honours at that instant', async () => {
    // Three seconds of life: enough for a loaded machine to create and use it before it ends.
    const expiresAt = new Date(Date.now() + 3000).toISOString();
    const created = await create({ expiresAt });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.expiresAt).toBe(expiresAt);
    const token = created.body.token as string;
    expect((await api('GET', '/api/vehicles', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 100));
    const after = await api('GET', '/api/vehicles', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHENTICATED');
    expect((await create({})).body.expiresAt).toBeNull();
  });

  it('answers 422 for an expiry that is not in the future, 400 for one that is not a date-time', async () => {
    const past = await create({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(422);
    expect(past.type).toMatch(/^application\/problem\+json/);
    expect(past.body.code).toBe('API_KEY_EXPIRY_INVALID');
    for (const expiresAt of ['tomorrow', '2099-01-01', 1234567890]) {
      const bad = await create({ expiresAt });
      expect(bad.status, String(expiresAt)).toBe(400);
      expect((bad.body.errors as { pointer: string }[])[0]?.pointer).toBe('/body/expiresAt');
    }
  });

  it('lists keys for the admin, per tenant or all, with last use and revocation, never the secret', async () => {
    const created = await api('POST', '/api/api-keys', {
      token: ADMIN,
      body: { tenantId: OTHER_TENANT, name: 'listed', scopes: ['telemetry:read', 'dtc:read'] },
    });
    const keyId = created.body.keyId as string;
    await api('GET', '/api/vehicles', { token: created.body.token as string }); // a use
    const res = await api('GET', `/api/api-keys?tenantId=${OTHER_TENANT}`, { token: ADMIN });
    expect(res.status).toBe(200);
    const keys = res.body.apiKeys as Record<string, unknown>[];
    expect(keys).toEqual([
      {
        keyId,
        tenantId: OTHER_TENANT,
        name: 'listed',
        scopes: ['telemetry:read', 'dtc:read'],
        createdAt: expect.any(String),
        expiresAt: null,
        lastUsedAt: expect.any(String),
        revokedAt: null,
      },
    ]);
    expect(JSON.stringify(res.body)).not.toContain((created.body.token as string).split('_')[2]);
    const all = (await api('GET', '/api/api-keys', { token: ADMIN })).body.apiKeys as { tenantId: string }[];
    expect(new Set(all.map((k) => k.tenantId))).toEqual(new Set([TENANT, OTHER_TENANT]));
    expect((await api('GET', '/api/api-keys?tenantId=has/slash', { token: ADMIN })).status).toBe(400);
  });

  it('revoking announces api-key-revoked through the outbox once it commits, so brokers and gateways end live sessions', async () => {
    const { events, stop } = recordEvents(fx.bus);
    try {
      const keyId = (await create({})).body.keyId as string;
      expect((await api('DELETE', `/api/api-keys/${TENANT}/${keyId}`, { token: ADMIN })).status).toBe(204);
      await expect
        .poll(() => events, { timeout: 5000 })
        .toEqual([{ type: 'api-key-revoked', tenantId: TENANT, keyId }]);
      expect((await api('DELETE', `/api/api-keys/${TENANT}/${keyId}`, { token: ADMIN })).status).toBe(404);
      // Nothing was live the second time: one revocation, one event.
      const announced = (await outboxPayloads(fx.db, 'api-key.revoked')).filter((p) => p.keyId === keyId);
      expect(announced).toEqual([{ keyId }]);
      const listed = (await api('GET', `/api/api-keys?tenantId=${TENANT}`, { token: ADMIN })).body.apiKeys as {
        keyId: string;
        revokedAt: string | null;
      }[];
      expect(listed.find((k) => k.keyId === keyId)?.revokedAt).toEqual(expect.any(String));
    } finally {
      stop();
    }
  });

  it('announces nothing when the revocation does not commit, and the key keeps working', async () => {
    const doomed = await create({ name: 'doomed' });
    const doomedId = doomed.body.keyId as string;
    await refuseCommits(fx.db, 'api_keys', `NEW.name = 'doomed' AND NEW.revoked_at IS NOT NULL`);
    const { events, stop } = recordEvents(fx.bus);
    try {
      expectProblem(await api('DELETE', `/api/api-keys/${TENANT}/${doomedId}`, { token: ADMIN }), 500, 'INTERNAL');
      expect((await api('GET', '/api/vehicles', { token: doomed.body.token as string })).status).toBe(200);
      // A revocation that commits after it is delivered; the relay keeps commit order, so the
      // rolled-back one would have come first.
      const keyId = (await create({})).body.keyId as string;
      expect((await api('DELETE', `/api/api-keys/${TENANT}/${keyId}`, { token: ADMIN })).status).toBe(204);
      await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(events).toEqual([{ type: 'api-key-revoked', tenantId: TENANT, keyId }]);
      expect((await outboxPayloads(fx.db, 'api-key.revoked')).filter((p) => p.keyId === doomedId)).toEqual([]);
    } finally {
      stop();
    }
  });
});
