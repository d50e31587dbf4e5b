import { generateSigningKeys, smtpMailer, type Mailer } from '@clutch/identity';
import { startTestSmtp, type TestSmtpServer } from '@clutch/identity/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  recordEvents,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-partner-admin-tests';

// docs/rbac.md "Platform staff and administration": a partner admin administers its own organisation
// (API keys, invitations) and nobody else's; no scope it does not hold itself; step-up and audit kept.
describe.each(backends('api_partner_admin'))('a partner admin administers its own organisation on %s', (_n, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let smtp: TestSmtpServer;
  let mailer: Mailer & { close(): void };
  let admin: TestUser;
  let noMfa: TestUser;
  let technician: TestUser;
  let narrow: TestUser;

  const api = (method: string, path: string, token: string, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const createKey = (who: TestUser, tenantId: string, scopes: string[]): Promise<Reply> =>
    api('POST', '/api/api-keys', who.token, { tenantId, name: 'by partner admin', scopes });
  const audit = async (action: string, actor: string): Promise<{ tenant_id: string | null; outcome: string }[]> =>
    (
      await fx.db.query<{ tenant_id: string | null; outcome: string }>(
        'SELECT tenant_id, outcome FROM audit_log WHERE action = $1 AND actor = $2 ORDER BY id',
        [action, actor],
      )
    ).rows;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    mailer = smtpMailer({ url: smtp.url, from: 'Clutch <no-reply@clutch.test>' });
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys, mailer },
      ...(open ? { open } : {}),
    });
    admin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true });
    noMfa = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'] });
    technician = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], mfa: true });
    // An organisation's own role: may manage keys, but reads telemetry only.
    const { rows } = await fx.db.query<{ id: string }>(
      `INSERT INTO roles (tenant_id, key, name) VALUES ($1, 'key-keeper', 'Key keeper') RETURNING id::text AS id`,
      [TENANT],
    );
    for (const permission of ['api-keys:write', 'telemetry:read'])
      await fx.db.query(`INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES ($1, $2, $3)`, [
        TENANT,
        rows[0]!.id,
        permission,
      ]);
    narrow = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: [rows[0]!.id], mfa: true });
  });
  afterAll(async () => {
    await fx?.close();
    mailer?.close();
    await smtp?.close();
  });

  it("creates its organisation's keys, audited under its name, and none for another organisation", async () => {
    const made = await createKey(admin, TENANT, ['telemetry:read', 'dtc:read']);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ tenantId: TENANT, scopes: ['telemetry:read', 'dtc:read'] });
    expect((await api('GET', '/api/vehicles', made.body.token as string)).status).toBe(200);
    expect(await audit('api-key.create', `user:${admin.userId}`)).toEqual([{ tenant_id: TENANT, outcome: 'success' }]);

    expectProblem(await createKey(admin, OTHER_TENANT, ['telemetry:read']), 403, 'FORBIDDEN');
    const globex = await api('GET', `/api/api-keys?tenantId=${OTHER_TENANT}`, ADMIN);
    expect(globex.body.apiKeys).toEqual([]);
  });

  it('needs a recent MFA check, and the permission: a technician may not', async () => {
    expectProblem(await createKey(noMfa, TENANT, ['status:read']), 403, 'MFA_STEP_UP_REQUIRED');
    expectProblem(await createKey(technician, TENANT, ['status:read']), 403, 'FORBIDDEN');
  });

  it('gives a key only scopes it holds itself (PERMISSION_ESCALATION, recorded as denied)', async () => {
    const refused = await createKey(narrow, TENANT, ['telemetry:read', 'dtc:read']);
    expectProblem(refused, 403, 'PERMISSION_ESCALATION');
    expect(refused.body.missing).toEqual([{ permission: 'dtc:read', condition: null }]);
    expect(await audit('api-key.create', `user:${narrow.userId}`)).toEqual([{ tenant_id: TENANT, outcome: 'denied' }]);
    const listed = (await api('GET', `/api/api-keys?tenantId=${TENANT}`, ADMIN)).body.apiKeys as { name: string }[];
    expect(listed.filter((k) => k.name === 'by partner admin')).toHaveLength(1); // the first test's only

    const allowed = await createKey(narrow, TENANT, ['telemetry:read']);
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(201);
  });

  it("revokes its organisation's keys (live sessions told through the outbox), not another's", async () => {
    const own = (await createKey(admin, TENANT, ['status:read'])).body;
    const foreign = (
      await api('POST', '/api/api-keys', ADMIN, { tenantId: OTHER_TENANT, name: 'theirs', scopes: ['status:read'] })
    ).body;
    const { events, stop } = recordEvents(fx.bus);
    try {
      expectProblem(
        await api('DELETE', `/api/api-keys/${OTHER_TENANT}/${String(foreign.keyId)}`, admin.token),
        403,
        'FORBIDDEN',
      );
      expect((await api('GET', '/api/vehicles', foreign.token as string)).status).toBe(200);

      expect((await api('DELETE', `/api/api-keys/${TENANT}/${String(own.keyId)}`, admin.token)).status).toBe(204);
      expectProblem(await api('GET', '/api/vehicles', own.token as string), 401, 'UNAUTHENTICATED');
      await expect
        .poll(() => events, { timeout: 5000 })
        .toEqual([{ type: 'api-key-revoked', tenantId: TENANT, keyId: own.keyId }]);
      expectProblem(
        await api('DELETE', `/api/api-keys/${TENANT}/${String(own.keyId)}`, admin.token),
        404,
        'API_KEY_NOT_FOUND',
      );
      expect(await audit('api-key.revoke', `user:${admin.userId}`)).toEqual([
        { tenant_id: TENANT, outcome: 'success' },
      ]);
    } finally {
      stop();
    }
  });

  it('invites staff into its own organisation (they get the mail), and nobody into another', async () => {
    const invited = await api('POST', '/api/users/invitations', admin.token, {
      email: 'new.tech@acme.example',
      displayName: 'New Tech',
      tenantId: TENANT,
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body.user).toMatchObject({ email: 'new.tech@acme.example', tenantId: TENANT });
    const mail = await smtp.next((m) => m.to.includes('new.tech@acme.example'));
    expect(mail.subject).toMatch(/invited to Acme Motors/);
    expect(await audit('user.invite', `user:${admin.userId}`)).toEqual([{ tenant_id: TENANT, outcome: 'success' }]);

    expectProblem(
      await api('POST', '/api/users/invitations', admin.token, {
        email: 'spy@globex.example',
        displayName: 'Spy',
        tenantId: OTHER_TENANT,
      }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await api('POST', '/api/users/invitations', admin.token, {
        email: 'boss@platform.example',
        displayName: 'Boss',
        tenantId: 'platform',
      }),
      403,
      'FORBIDDEN',
    );
    const { rows } = await fx.db.query('SELECT 1 FROM users WHERE email IN ($1, $2)', [
      'spy@globex.example',
      'boss@platform.example',
    ]);
    expect(rows).toEqual([]);
  });
});
