import { createApiKey, generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';
import { builtInRoleId, signedInUser, type TestUser } from './test-users.js';

const ADMIN = 'admin-token-for-roles-tests-0123456789';

describe.each(backends('api_roles'))('roles and grants on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  /** acme's partner admin (fresh MFA), the same without MFA, globex's partner admin. */
  let acmeAdmin: TestUser;
  let acmeAdminNoMfa: TestUser;
  let globexAdmin: TestUser;
  const api = (method: string, path: string, as: string | TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    acmeAdmin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true, name: 'Ada' });
    acmeAdminNoMfa = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], name: 'Nom' });
    globexAdmin = await signedInUser(fx.db, keys, {
      tenantId: OTHER_TENANT,
      roles: ['partner-admin'],
      mfa: true,
      name: 'Gil',
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  const keysOf = (res: Reply): string[] => (res.body.roles as { key: string }[]).map((r) => r.key);

  it('lists the caller tenant’s roles and the platform templates; the catalogue is open to every caller', async () => {
    const res = await api('GET', '/roles', acmeAdmin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(keysOf(res)).toEqual([
      'fleet-manager',
      'owner',
      'partner-admin',
      'parts-clerk',
      'platform-admin',
      'support',
      'technician',
    ]);
    const partnerAdmin = (res.body.roles as { key: string; parents: { key: string }[]; builtIn: boolean }[]).find(
      (r) => r.key === 'partner-admin',
    )!;
    expect(partnerAdmin.builtIn).toBe(true);
    expect(partnerAdmin.parents.map((p) => p.key)).toEqual(['fleet-manager', 'parts-clerk', 'technician']);
    const catalogue = await api('GET', '/permissions', acmeAdmin);
    expect(catalogue.body.permissions).toContainEqual({
      name: 'chat:read',
      description: 'Read chat conversations and their attachments',
      status: 'active',
    });
    expect(catalogue.body.permissions).toContainEqual({
      name: 'bookings:read',
      description: 'See repair bookings',
      status: 'active',
    });
    // Paged like every list.
    const first = await api('GET', '/roles?limit=2', acmeAdmin);
    expect(keysOf(first)).toEqual(['fleet-manager', 'owner']);
    const second = await api('GET', `/roles?limit=2&cursor=${String(first.body.next)}`, acmeAdmin);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(keysOf(second)).toEqual(['partner-admin', 'parts-clerk']);
  });

  it('refuses partner keys and users without roles:read', async () => {
    const key = (await createApiKey(fx.db, { tenantId: TENANT, name: 'k', scopes: ['telemetry:read'] })).token;
    expectProblem(await api('GET', '/roles', key), 403, 'FORBIDDEN');
    const tech = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], mfa: true });
    const res = await api('GET', '/roles', tech);
    expectProblem(res, 403, 'FORBIDDEN');
    expect(res.body.requiredPermission).toBe('roles:read');
    expectProblem(await api('GET', '/roles', undefined), 401, 'UNAUTHENTICATED');
  });

  it('creates a role of its tenant inheriting from a template, shows own and inherited permissions, and audits it', async () => {
    const technician = await builtInRoleId(fx.db, 'technician');
    const created = await api('POST', '/roles', acmeAdmin, {
      key: 'senior-tech',
      name: 'Senior technician',
      parents: [technician],
      permissions: [
        { permission: 'location:read' },
        { permission: 'vehicle-shares:read', condition: { ownership: 'shop' } },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      tenantId: TENANT,
      key: 'senior-tech',
      builtIn: false,
      parents: [{ id: technician, key: 'technician' }],
      permissions: [
        { permission: 'location:read', condition: null },
        { permission: 'vehicle-shares:read', condition: { ownership: 'shop' } },
      ],
    });
    expect(created.headers.get('location')).toBe(`/api/roles/${String(created.body.id)}`);
    const perms = await api('GET', `/roles/${String(created.body.id)}/permissions`, acmeAdmin);
    expect(perms.status).toBe(200);
    expect(
      (perms.body.inherited as { permission: string; from: { key: string } }[]).map(
        (p) => `${p.permission} ${p.from.key}`,
      ),
    ).toContain('dtc:read technician');
    expect((await auditLog(fx.db)).find((a) => a.action === 'role.create')).toMatchObject({
      actor: `user:${acmeAdmin.userId}`,
      tenant_id: TENANT,
      target: 'senior-tech',
    });
    expect(await outboxPayloads(fx.db, 'rbac.roles-changed')).toContainEqual({});
    // Globex never sees it; acme's key is taken now.
    expect(keysOf(await api('GET', '/roles', globexAdmin))).not.toContain('senior-tech');
    expectProblem(
      await api('GET', `/roles/${String(created.body.id)}/permissions`, globexAdmin),
      404,
      'ROLE_NOT_FOUND',
    );
    expectProblem(
      await api('PUT', `/roles/${String(created.body.id)}`, globexAdmin, { name: 'Mine now' }),
      404,
      'ROLE_NOT_FOUND',
    );
    expectProblem(await api('POST', '/roles', acmeAdmin, { key: 'senior-tech', name: 'again' }), 409, 'ROLE_EXISTS');
  });

  it('needs a recent MFA check for every change', async () => {
    const res = await api('POST', '/roles', acmeAdminNoMfa, { key: 'no-mfa', name: 'x' });
    expectProblem(res, 403, 'MFA_STEP_UP_REQUIRED');
    expect(res.body.verify).toBe('/api/auth/mfa/verify');
    expectProblem(
      await api('DELETE', `/users/${acmeAdmin.userId}/roles?roleId=${acmeAdmin.userId}`, acmeAdminNoMfa),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
  });

  it('refuses escalation: permissions, conditions or parents the caller does not hold as broadly, recorded as denied', async () => {
    const res = await api('POST', '/roles', acmeAdmin, {
      key: 'sneaky',
      name: 'Sneaky',
      permissions: [{ permission: 'tenants:write' }, { permission: 'vehicles:read' }],
    });
    expectProblem(res, 403, 'PERMISSION_ESCALATION');
    expect(res.body.missing).toEqual([{ permission: 'tenants:write', condition: null }]);
    expect(keysOf(await api('GET', '/roles', acmeAdmin))).not.toContain('sneaky');
    expect((await auditLog(fx.db)).find((a) => a.action === 'role.create' && a.target === 'sneaky')).toMatchObject({
      actor: `user:${acmeAdmin.userId}`,
      detail: expect.objectContaining({ missing: [{ permission: 'tenants:write', condition: null }] }),
    });
    const denied = await fx.db.query<{ outcome: string }>(
      `SELECT outcome FROM audit_log WHERE action = 'role.create' AND target = 'sneaky'`,
    );
    expect(denied.rows).toEqual([{ outcome: 'denied' }]);
    // A template meant for the platform is not a parent a partner can use.
    expectProblem(
      await api('POST', '/roles', acmeAdmin, {
        key: 'sneaky2',
        name: 'x',
        parents: [await builtInRoleId(fx.db, 'platform-admin')],
      }),
      422,
      'ROLE_NOT_GRANTABLE',
    );
    // A technician made partner admin of nothing: holds bookings:read only for its shop, so it cannot give it outright.
    const shopOnly = await api('POST', '/roles', acmeAdmin, {
      key: 'shop-bookings',
      name: 'Shop bookings',
      permissions: [
        { permission: 'roles:write' },
        { permission: 'roles:read' },
        { permission: 'bookings:read', condition: { ownership: 'shop' } },
      ],
    });
    expect(shopOnly.status, JSON.stringify(shopOnly.body)).toBe(201);
    const limited = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: [String(shopOnly.body.id)], mfa: true });
    expectProblem(
      await api('POST', '/roles', limited, {
        key: 'all-bookings',
        name: 'x',
        permissions: [{ permission: 'bookings:read' }],
      }),
      403,
      'PERMISSION_ESCALATION',
    );
    const same = await api('POST', '/roles', limited, {
      key: 'same-bookings',
      name: 'x',
      permissions: [{ permission: 'bookings:read', condition: { ownership: 'shop' } }],
    });
    expect(same.status, JSON.stringify(same.body)).toBe(201);
    // Nor may it grant a role that gives more than it holds.
    const target = await signedInUser(fx.db, keys, { tenantId: TENANT });
    const grant = await api('POST', `/users/${target.userId}/roles`, limited, {
      roleId: await builtInRoleId(fx.db, 'technician'),
    });
    expectProblem(grant, 403, 'FORBIDDEN'); // it lacks roles:grant altogether
  });

  it('refuses cycles, bad conditions and changes to built-in roles', async () => {
    const a = await api('POST', '/roles', acmeAdmin, {
      key: 'cycle-a',
      name: 'A',
      permissions: [{ permission: 'vehicles:read' }],
    });
    const b = await api('POST', '/roles', acmeAdmin, { key: 'cycle-b', name: 'B', parents: [a.body.id] });
    const c = await api('POST', '/roles', acmeAdmin, { key: 'cycle-c', name: 'C', parents: [b.body.id] });
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    const res = await api('PUT', `/roles/${String(a.body.id)}`, acmeAdmin, { parents: [c.body.id] });
    expectProblem(res, 422, 'ROLE_CYCLE');
    expect(res.body.detail).toBe('Inheritance would go round: cycle-a → cycle-c → cycle-b → cycle-a');
    expectProblem(
      await api('PUT', `/roles/${String(a.body.id)}`, acmeAdmin, { parents: [a.body.id] }),
      422,
      'ROLE_CYCLE',
    );
    // Unchanged after the refusals.
    expect((await api('GET', `/roles/${String(a.body.id)}/permissions`, acmeAdmin)).body.inherited).toEqual([]);

    const bad = await api('PUT', `/roles/${String(a.body.id)}/permissions`, acmeAdmin, {
      permissions: [{ permission: 'vehicles:read', condition: { code: 'return true' } }],
    });
    expectProblem(bad, 400, 'INVALID_CONDITION');
    expectProblem(
      await api('PUT', `/roles/${String(a.body.id)}/permissions`, acmeAdmin, {
        permissions: [{ permission: 'vehicles:fly' }],
      }),
      400,
      'VALIDATION_FAILED',
    );
    const ok = await api('PUT', `/roles/${String(a.body.id)}/permissions`, acmeAdmin, {
      permissions: [{ permission: 'dtc:read', condition: { attribute: 'vehicle.make', in: ['Volvo', 'Ford'] } }],
    });
    expect(ok.body).toEqual({
      roleId: a.body.id,
      permissions: [{ permission: 'dtc:read', condition: { attribute: 'vehicle.make', in: ['Volvo', 'Ford'] } }],
    });

    const technician = await builtInRoleId(fx.db, 'technician');
    expectProblem(await api('PUT', `/roles/${technician}`, acmeAdmin, { name: 'Mechanic' }), 409, 'ROLE_BUILT_IN');
    expectProblem(
      await api('PUT', `/roles/${technician}/permissions`, acmeAdmin, { permissions: [] }),
      409,
      'ROLE_BUILT_IN',
    );
    expectProblem(await api('DELETE', `/roles/${technician}`, acmeAdmin), 409, 'ROLE_BUILT_IN');
    expectProblem(await api('DELETE', `/roles/${String(b.body.id)}`, acmeAdmin), 409, 'ROLE_IN_USE');
    expect((await api('DELETE', `/roles/${String(c.body.id)}`, acmeAdmin)).status).toBe(204);
    expect((await api('DELETE', `/roles/${String(b.body.id)}`, acmeAdmin)).status).toBe(204);
    expectProblem(await api('DELETE', `/roles/${String(b.body.id)}`, acmeAdmin), 404, 'ROLE_NOT_FOUND');
  });

  it('grants a role for a time: it works at once, stops at its end, and can be taken away', async () => {
    const tina = await signedInUser(fx.db, keys, { tenantId: TENANT, name: 'Tina' });
    expectProblem(await api('GET', '/vehicles', tina), 403, 'FORBIDDEN');
    const technician = await builtInRoleId(fx.db, 'technician');
    const validUntil = new Date(Date.now() + 1500);
    const granted = await api('POST', `/users/${tina.userId}/roles`, acmeAdmin, {
      roleId: technician,
      validUntil: validUntil.toISOString(),
    });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    expect(granted.body).toMatchObject({
      userId: tina.userId,
      roleKey: 'technician',
      tenantId: TENANT,
      validUntil: validUntil.toISOString(),
      grantedBy: `user:${acmeAdmin.userId}`,
      active: true,
    });
    const listed = await api('GET', '/vehicles', tina);
    expect(listed.status).toBe(200);
    expect((listed.body.vehicles as unknown[]).length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, validUntil.getTime() - Date.now() + 50));
    expectProblem(await api('GET', '/vehicles', tina), 403, 'FORBIDDEN');
    const grants = await api('GET', `/users/${tina.userId}/roles`, acmeAdmin);
    expect(grants.body.grants).toEqual([expect.objectContaining({ roleKey: 'technician', active: false })]);
    expect(grants.body.next).toBeNull();

    // Granting again changes the validity (200), and DELETE takes it away at once.
    const again = await api('POST', `/users/${tina.userId}/roles`, acmeAdmin, { roleId: technician });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ validUntil: null, active: true });
    expect((await api('GET', '/vehicles', tina)).status).toBe(200);
    expect((await api('DELETE', `/users/${tina.userId}/roles?roleId=${technician}`, acmeAdmin)).status).toBe(204);
    expectProblem(await api('GET', '/vehicles', tina), 403, 'FORBIDDEN');
    expectProblem(
      await api('DELETE', `/users/${tina.userId}/roles?roleId=${technician}`, acmeAdmin),
      404,
      'GRANT_NOT_FOUND',
    );
    expectProblem(await api('DELETE', `/users/${tina.userId}/roles`, acmeAdmin), 400, 'VALIDATION_FAILED');
    const actions = (await auditLog(fx.db)).filter((a) => a.target === tina.userId).map((a) => a.action);
    expect(actions).toEqual(['role.revoked', 'role.granted', 'role.granted']);
  });

  it("pages a user's grants with a cursor, newest first", async () => {
    const target = await signedInUser(fx.db, keys, { tenantId: TENANT });
    const keysGranted = ['technician', 'parts-clerk', 'fleet-manager'];
    for (const key of keysGranted) {
      const granted = await api('POST', `/users/${target.userId}/roles`, acmeAdmin, {
        roleId: await builtInRoleId(fx.db, key),
      });
      expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    }
    const first = await api('GET', `/users/${target.userId}/roles?limit=2`, acmeAdmin);
    expect((first.body.grants as { roleKey: string }[]).map((g) => g.roleKey)).toEqual([
      'fleet-manager',
      'parts-clerk',
    ]);
    expect(typeof first.body.next).toBe('string');
    const rest = await api(
      'GET',
      `/users/${target.userId}/roles?limit=2&cursor=${first.body.next as string}`,
      acmeAdmin,
    );
    expect((rest.body.grants as { roleKey: string }[]).map((g) => g.roleKey)).toEqual(['technician']);
    expect(rest.body.next).toBeNull();
    // A cursor of another list is refused, not misread.
    const roles = await api('GET', '/roles?limit=1', acmeAdmin);
    expectProblem(
      await api('GET', `/users/${target.userId}/roles?cursor=${roles.body.next as string}`, acmeAdmin),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('grants only roles meant for the user’s tenant, to users of the caller’s tenant', async () => {
    const target = await signedInUser(fx.db, keys, { tenantId: TENANT });
    expectProblem(
      await api('POST', `/users/${target.userId}/roles`, acmeAdmin, { roleId: await builtInRoleId(fx.db, 'support') }),
      422,
      'ROLE_NOT_GRANTABLE', // a template for platform staff only
    );
    expectProblem(
      await api('POST', `/users/${target.userId}/roles`, ADMIN, { roleId: await builtInRoleId(fx.db, 'owner') }),
      422,
      'ROLE_NOT_GRANTABLE',
    );
    const globexUser = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT });
    expectProblem(
      await api('POST', `/users/${globexUser.userId}/roles`, acmeAdmin, {
        roleId: await builtInRoleId(fx.db, 'technician'),
      }),
      404,
      'USER_NOT_FOUND',
    );
    expectProblem(await api('GET', `/users/${globexUser.userId}/roles`, acmeAdmin), 404, 'USER_NOT_FOUND');
    const ended = await api('POST', `/users/${target.userId}/roles`, acmeAdmin, {
      roleId: await builtInRoleId(fx.db, 'technician'),
      validUntil: new Date(Date.now() - 1000).toISOString(),
    });
    expectProblem(ended, 400, 'BAD_REQUEST');
  });

  it('lets platform staff manage platform roles, and the admin token any tenant’s', async () => {
    const platformAdmin = await signedInUser(fx.db, keys, {
      tenantId: 'platform',
      roles: ['platform-admin'],
      mfa: true,
    });
    const created = await api('POST', '/roles', platformAdmin, {
      key: 'auditor',
      name: 'Auditor',
      grantableIn: ['partner'],
      permissions: [{ permission: 'security-reports:read' }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ tenantId: 'platform', grantableIn: ['partner'] });
    // A new template is visible to partners and grantable to their users.
    expect(keysOf(await api('GET', '/roles', acmeAdmin))).toContain('auditor');
    expectProblem(
      await api('POST', '/roles', platformAdmin, { tenantId: TENANT, key: 'x1', name: 'x' }),
      403,
      'FORBIDDEN',
    );
    const byAdmin = await api('POST', '/roles', ADMIN, {
      tenantId: OTHER_TENANT,
      key: 'globex-viewer',
      name: 'Viewer',
    });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.tenantId).toBe(OTHER_TENANT);
    const all = await api('GET', `/roles?tenantId=${OTHER_TENANT}`, ADMIN);
    expect(keysOf(all)).toEqual(['globex-viewer']);
  });
});
