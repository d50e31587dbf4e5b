import type { CommandRequest } from '@clutch/contracts';
import { createApiKey } from '@clutch/identity';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPrincipal } from '../auth/principal.js';
import { hasRecentMfa, requireRecentMfa } from '../auth/step-up.js';
import type { CommandTarget } from '../commands/service.js';
import { TestClient } from '../sessions/test-client.js';
import { backends, call, startFixture, TENANT, VEHICLE_A, type Fixture } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-step-up-tests';
const PASSWORD = 'correct horse battery staple';
const OWNED_CAR = 'ca11ab1e-0000-4000-8000-000000000001';

const user = (mfaAt: Date | null): UserPrincipal => ({
  kind: 'user',
  userId: '11111111-1111-4111-8111-111111111111',
  tenantId: 'consumers',
  sessionId: '22222222-2222-4222-8222-222222222222',
  mfaAt,
  expiresAt: new Date(Date.now() + 600_000),
});

describe('requireRecentMfa', () => {
  it('passes a user checked within the window, refuses older, missing and far-future checks', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    expect(() => requireRecentMfa(user(new Date(now.getTime() - 299_000)), 300, undefined, now)).not.toThrow();
    for (const mfaAt of [null, new Date(now.getTime() - 301_000), new Date(now.getTime() + 3600_000)]) {
      expect(() => requireRecentMfa(user(mfaAt), 300, ['totp'], now)).toThrow(
        expect.objectContaining({
          code: 'MFA_STEP_UP_REQUIRED',
          details: expect.objectContaining({ methods: ['totp'] }),
        }),
      );
    }
    expect(hasRecentMfa(new Date(now.getTime() - 59_000), 60, now)).toBe(true);
  });

  it('lets the admin token and API keys through (decided in docs/mfa.md)', () => {
    expect(() => requireRecentMfa({ kind: 'admin', dev: false })).not.toThrow();
    expect(() =>
      requireRecentMfa({ kind: 'partner', tenantId: 'acme', keyId: 'k', scopes: ['commands:write'], expiresAt: null }),
    ).not.toThrow();
  });
});

describe.each(backends('api_step_up'))('step-up on sensitive routes on %s', (_name, open) => {
  let fx: Fixture;
  const sent: CommandRequest[] = [];

  beforeAll(async () => {
    const commands = {
      async send(_target: CommandTarget, request: CommandRequest): Promise<void> {
        sent.push(request);
      },
    };
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      commands,
      identity: { sessionCacheMs: 0, signInLimits: { ip: { freeFailures: 1000 } } },
      ...(open ? { open } : {}),
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('clearing DTCs: an owner gets 403 MFA_STEP_UP_REQUIRED until a second factor is verified, then 202', async () => {
    const email = 'dtc-owner@example.com';
    const reg = await new TestClient(fx.api.url).call('POST', '/api/auth/register', {
      email,
      password: PASSWORD,
      displayName: 'D',
    });
    expect(reg.status).toBe(202);
    const { rows } = await fx.db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
    const userId = rows[0]!.id;
    // The owner's car with its gateway, and the owner role (granted as the platform does for owners).
    await fx.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES ($1, 'consumers', 'My car', 'Fiat', $2)`,
      [OWNED_CAR, userId],
    );
    await fx.db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('consumers', 'owner-pi', $1)`, [
      OWNED_CAR,
    ]);
    await fx.db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, granted_by)
       SELECT 'consumers', $1, id, 'test' FROM roles WHERE tenant_id = 'platform' AND key = 'owner'`,
      [userId],
    );
    fx.bus.publish({ type: 'roles-changed', tenantId: 'consumers', userId });

    const app = new TestClient(fx.api.url, { mobile: true });
    expect((await app.call('POST', '/api/auth/login', { email, password: PASSWORD })).status).toBe(200);
    const clear = () => app.call('POST', `/api/vehicles/${OWNED_CAR}/commands`, { type: 'clear_dtcs' });
    // Reading DTCs needs nothing more; clearing them does.
    const read = await app.call('POST', `/api/vehicles/${OWNED_CAR}/commands`, { type: 'read_dtcs' });
    expect(read.status, JSON.stringify(read.body)).toBe(202);
    const refused = await clear();
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body).toMatchObject({ code: 'MFA_STEP_UP_REQUIRED', verify: '/api/auth/mfa/verify' });
    expect(sent.map((r) => r.type)).toEqual(['read_dtcs']);

    const setup = await app.call('POST', '/api/auth/mfa/setup', { method: 'totp' });
    const verified = await app.call('POST', '/api/auth/mfa/verify', {
      method: 'totp',
      code: await generate({ secret: setup.body.secret as string }),
    });
    expect(verified.status).toBe(200);
    const cleared = await clear();
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(202);
    expect(sent.map((r) => r.type)).toEqual(['read_dtcs', 'clear_dtcs']);

    // An hour later the check is stale again.
    await fx.db.query(`UPDATE sessions SET mfa_at = now() - interval '1 hour' WHERE user_id = $1`, [userId]);
    await app.call('POST', '/api/sessions/refresh', { refreshToken: app.refreshToken });
    expect((await clear()).status).toBe(403);
  });

  it('the admin token clears DTCs as break-glass, recorded in the audit log; an API key with commands:write passes', async () => {
    const asAdmin = await call(fx.api.url, 'POST', `/api/vehicles/${VEHICLE_A}/commands`, {
      token: ADMIN,
      body: { type: 'clear_dtcs' },
    });
    expect(asAdmin.status, JSON.stringify(asAdmin.body)).toBe(202);
    const { rows } = await fx.db.query<{ actor: string; detail: Record<string, unknown> }>(
      `SELECT actor, detail FROM audit_log WHERE action = 'step-up.break-glass' ORDER BY id`,
    );
    expect(rows).toEqual([{ actor: 'admin', detail: expect.objectContaining({ for: 'command.clear-dtcs' }) }]);

    const key = await createApiKey(fx.db, { tenantId: TENANT, name: 'workshop', scopes: ['commands:write'] });
    const asKey = await call(fx.api.url, 'POST', `/api/vehicles/${VEHICLE_A}/commands`, {
      token: key.token,
      body: { type: 'clear_dtcs' },
    });
    expect(asKey.status, JSON.stringify(asKey.body)).toBe(202);
  });

  it('API-key creation: the admin token creates keys (audited as api-key.create); a signed-in user cannot', async () => {
    const created = await call(fx.api.url, 'POST', '/api/api-keys', {
      token: ADMIN,
      body: { tenantId: TENANT, name: 'k', scopes: ['status:read'] },
    });
    expect(created.status).toBe(201);
    const app = new TestClient(fx.api.url, { mobile: true });
    await app.call('POST', '/api/auth/register', { email: 'keys@example.com', password: PASSWORD, displayName: 'K' });
    await app.call('POST', '/api/auth/login', { email: 'keys@example.com', password: PASSWORD });
    const asUser = await app.call('POST', '/api/api-keys', { tenantId: TENANT, name: 'k', scopes: ['status:read'] });
    expect(asUser.status).toBe(403);
  });
});
