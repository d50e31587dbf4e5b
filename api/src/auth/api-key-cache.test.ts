import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createApiKey, revokeApiKey, verifyApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, startFixture, TENANT, type Fixture } from '../test-fixtures.js';
import { createApiKeyCache, type ApiKeyVerifier } from './api-key-cache.js';

describe('API key cache', () => {
  let db: Database;
  /** The database's verification, counting how often the cache asked it. */
  let asked = 0;
  const verify: ApiKeyVerifier = (token) => {
    asked += 1;
    return verifyApiKey(db, token);
  };
  /** A clock the tests move: the TTL and expiry are judged by it, never by waiting. */
  const clock = { ms: Date.now() };
  const now = (): number => clock.ms;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
  });
  afterAll(async () => {
    await db?.close();
  });

  const newKey = (tenantId = 'acme', expiresAt?: Date) =>
    createApiKey(db, { tenantId, name: 'k', scopes: ['telemetry:read'], expiresAt });

  it('answers a verified key from memory until its TTL ends, then asks the database again', async () => {
    const cache = createApiKeyCache({ ttlMs: 1000, now });
    const key = await newKey();
    asked = 0;
    for (let i = 0; i < 5; i++) expect(await cache.verify(key.token, verify)).toMatchObject({ keyId: key.keyId });
    expect(asked).toBe(1);
    clock.ms += 1001;
    await cache.verify(key.token, verify);
    expect(asked).toBe(2);
  });

  it('asks the database once for concurrent requests with the same token', async () => {
    const cache = createApiKeyCache({ now });
    const key = await newKey();
    asked = 0;
    const principals = await Promise.all(Array.from({ length: 20 }, () => cache.verify(key.token, verify)));
    expect(new Set(principals.map((p) => p?.keyId))).toEqual(new Set([key.keyId]));
    expect(asked).toBe(1);
  });

  it("never answers past the key's expiry, however long its TTL", async () => {
    const cache = createApiKeyCache({ ttlMs: 3600_000, now });
    const key = await newKey('acme', new Date(clock.ms + 60_000));
    asked = 0;
    await cache.verify(key.token, verify);
    clock.ms += 59_000;
    await cache.verify(key.token, verify);
    expect(asked).toBe(1);
    clock.ms += 1001;
    await cache.verify(key.token, verify);
    expect(asked).toBe(2);
  });

  it("hands a principal only to the exact token that proved it: each tenant's key gets its tenant, a forged secret nothing", async () => {
    const cache = createApiKeyCache({ now });
    const acme = await newKey('acme');
    const globex = await newKey('globex');
    for (let i = 0; i < 3; i++) {
      expect((await cache.verify(acme.token, verify))?.tenantId).toBe('acme');
      expect((await cache.verify(globex.token, verify))?.tenantId).toBe('globex');
    }
    const forged = `ck_${acme.keyId}_${'x'.repeat(43)}`;
    expect(await cache.verify(forged, verify)).toBeNull();
    expect(await cache.verify(forged, verify)).toBeNull();
  });

  it('drops a key when any process announces its revocation on the bus', async () => {
    const cache = createApiKeyCache({ ttlMs: 3600_000, now });
    const bus = createInProcessBus();
    cache.listen(bus);
    const key = await newKey();
    expect(await cache.verify(key.token, verify)).not.toBeNull();
    await revokeApiKey(db, 'acme', key.keyId);
    bus.publish({ type: 'api-key-revoked', tenantId: 'acme', keyId: key.keyId });
    expect(await cache.verify(key.token, verify)).toBeNull();
  });

  it('checks a key this process is revoking against the database until the revocation must have committed', async () => {
    const cache = createApiKeyCache({ ttlMs: 3600_000, holdMs: 5000, now });
    const key = await newKey();
    const audited: string[] = [];
    const audit = cache.holdRevokedKeys(async (_q, use) => void audited.push(use.action));
    await cache.verify(key.token, verify);
    // The revoking transaction has audited its work and not committed yet: the database still
    // accepts the key, and the cache must not keep that answer.
    await audit(db, { actor: 'admin', action: 'api-key.revoke', target: key.keyId, tenantId: 'acme' });
    expect(await cache.verify(key.token, verify)).not.toBeNull();
    await revokeApiKey(db, 'acme', key.keyId); // committed
    expect(audited).toEqual(['api-key.revoke']);
    expect(await cache.verify(key.token, verify)).toBeNull();
  });

  it('keeps at most maxEntries keys, dropping the least recently used', async () => {
    const cache = createApiKeyCache({ maxEntries: 2, now });
    const [a, b, c] = [await newKey(), await newKey(), await newKey()];
    await cache.verify(a.token, verify);
    await cache.verify(b.token, verify);
    await cache.verify(a.token, verify);
    await cache.verify(c.token, verify);
    expect(cache.size()).toBe(2);
    asked = 0;
    await cache.verify(a.token, verify);
    expect(asked).toBe(0);
    await cache.verify(b.token, verify);
    expect(asked).toBe(1);
  });
});

describe.each(backends('api_key_cache'))('API keys through the API on %s', (_name, open) => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: 'admin-token-for-key-cache-tests',
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('stops accepting a key at its expiry, though it was in use (and cached) just before', async () => {
    const key = await createApiKey(fx.db, {
      tenantId: TENANT,
      name: 'short-lived',
      scopes: ['status:read'],
      expiresAt: new Date(Date.now() + 1500),
    });
    expect((await call(fx.api.url, 'GET', '/api/vehicles', { token: key.token })).status).toBe(200);
    await expect
      .poll(async () => (await call(fx.api.url, 'GET', '/api/vehicles', { token: key.token })).status, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(401);
  });
});
