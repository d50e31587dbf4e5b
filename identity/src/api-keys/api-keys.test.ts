import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTenant } from '../devices/provisioning.js';
import { createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from './api-keys.js';

describe('API key lifecycle', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await ensureTenant(db, 'acme', 'Acme');
    await ensureTenant(db, 'globex', 'Globex');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('returns the expiry and refuses a key once it has expired', async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    const key = await createApiKey(db, { tenantId: 'acme', name: 'temp', scopes: ['status:read'], expiresAt });
    expect(key.expiresAt).toEqual(expiresAt);
    expect(await verifyApiKey(db, key.token)).toEqual({
      keyId: key.keyId,
      tenantId: 'acme',
      scopes: ['status:read'],
      expiresAt,
    });
    await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.keyId]);
    expect(await verifyApiKey(db, key.token)).toBeNull();
    const forever = await createApiKey(db, { tenantId: 'acme', name: 'forever', scopes: ['status:read'] });
    expect((await verifyApiKey(db, forever.token))?.expiresAt).toBeNull();
  });

  it('refuses an expiry that is not in the future', async () => {
    await expect(
      createApiKey(db, { tenantId: 'acme', name: 'x', scopes: ['status:read'], expiresAt: new Date(Date.now() - 1) }),
    ).rejects.toMatchObject({ code: 'API_KEY_EXPIRY_INVALID' });
  });

  it('records the last use at most once a minute', async () => {
    const key = await createApiKey(db, { tenantId: 'acme', name: 'busy', scopes: ['telemetry:read'] });
    const lastUsed = async (): Promise<Date | null> =>
      (await listApiKeys(db, 'acme')).find((k) => k.keyId === key.keyId)!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await verifyApiKey(db, key.token);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await verifyApiKey(db, key.token);
    expect(await lastUsed()).toEqual(first); // within the minute: no write
    await db.query(`UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = $1`, [key.keyId]);
    const backdated = await lastUsed();
    await verifyApiKey(db, key.token);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(backdated!.getTime());
  });

  it('lists keys per tenant or all, with revocation, and never the secret', async () => {
    const key = await createApiKey(db, {
      tenantId: 'globex',
      name: 'fleet',
      scopes: ['telemetry:read', 'commands:write'],
    });
    await revokeApiKey(db, 'globex', key.keyId);
    const globex = await listApiKeys(db, 'globex');
    expect(globex).toEqual([
      {
        keyId: key.keyId,
        tenantId: 'globex',
        name: 'fleet',
        scopes: ['telemetry:read', 'commands:write'],
        createdAt: expect.any(Date),
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: expect.any(Date),
      },
    ]);
    const all = await listApiKeys(db);
    expect(all.map((k) => k.tenantId)).toEqual(
      [...all.filter((k) => k.tenantId === 'acme'), ...globex].map((k) => k.tenantId),
    );
    expect(JSON.stringify(all)).not.toMatch(/secret|ck_/);
  });
});
