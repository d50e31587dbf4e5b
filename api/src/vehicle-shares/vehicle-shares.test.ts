import { createApiKey, generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_B,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-share-tests-0123456789';
const ALICE_CAR = 'a11ce0ca-0000-4000-8000-000000000001';
const BOB_CAR = 'b0b000ca-0000-4000-8000-000000000002';

describe.each(backends('api_vehicle_shares'))('car owners and vehicle shares on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let tina: TestUser;
  let gil: TestUser;
  const api = (method: string, path: string, as: string | TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const ids = (res: Reply): string[] => {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.vehicles as { id: string }[]).map((v) => v.id).sort();
  };
  const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina' });
    gil = await signedInUser(fx.db, keys, { tenantId: OTHER_TENANT, roles: ['technician'], name: 'Gil' });
    await fx.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, make, owner_user_id) VALUES
         ($1, 'consumers', 'Alice hatchback', 'Fiat', $3), ($2, 'consumers', 'Bob estate', 'Volvo', $4)`,
      [ALICE_CAR, BOB_CAR, alice.userId, bob.userId],
    );
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('shows a car owner their own vehicles only, on every vehicle route', async () => {
    expect(ids(await api('GET', '/vehicles', alice))).toEqual([ALICE_CAR]);
    expect(ids(await api('GET', '/vehicles', bob))).toEqual([BOB_CAR]);
    expect((await api('GET', `/vehicles/${ALICE_CAR}`, alice)).body).toMatchObject({
      id: ALICE_CAR,
      tenantId: 'consumers',
    });
    for (const path of [
      `/vehicles/${BOB_CAR}`,
      `/vehicles/${BOB_CAR}/latest`,
      `/vehicles/${BOB_CAR}/shares`,
      `/vehicles/${VEHICLE_A}`,
    ])
      expectProblem(await api('GET', path, alice), 404, 'VEHICLE_NOT_FOUND');
    // Partners as before: their tenant's vehicles.
    expect(ids(await api('GET', '/vehicles', tina))).toEqual([VEHICLE_A, VEHICLE_B].sort());
  });

  it('decides a permission held only for some vehicles on the vehicle each request names, on every vehicle route', async () => {
    for (const path of [
      `/vehicles/${ALICE_CAR}/latest`,
      `/obd2/diagnostics/${ALICE_CAR}`,
      `/telematics/history?vehicleId=${ALICE_CAR}`,
    ])
      expect((await api('GET', path, alice)).status, path).toBe(200);
    for (const path of [
      `/vehicles/${BOB_CAR}/trips`,
      `/obd2/diagnostics/${BOB_CAR}`,
      `/telematics/history?vehicleId=${BOB_CAR}`,
    ])
      expectProblem(await api('GET', path, alice), 404, 'VEHICLE_NOT_FOUND');
    // A command by id names no vehicle: its service decides on the command's own vehicle (here none).
    expectProblem(await api('GET', `/commands/${ALICE_CAR}`, alice), 404, 'COMMAND_NOT_FOUND');
    // An attribute condition on a partner's role, on routes whose services know nothing of it.
    const volvo = 'f0f0f0f0-0000-4000-8000-00000000000f';
    await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Acme Volvo', 'Volvo')`, [
      volvo,
      TENANT,
    ]);
    const admin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true });
    const role = await api('POST', '/roles', admin, {
      key: 'volvo-diagnostics',
      name: 'Volvo diagnostics',
      permissions: [{ permission: 'dtc:read', condition: { attribute: 'vehicle.make', value: 'Volvo' } }],
    });
    expect(role.status, JSON.stringify(role.body)).toBe(201);
    const volvoTech = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: [role.body.id as string] });
    expect((await api('GET', `/obd2/diagnostics/${volvo}`, volvoTech)).status).toBe(200);
    expectProblem(await api('GET', `/obd2/diagnostics/${VEHICLE_A}`, volvoTech), 404, 'VEHICLE_NOT_FOUND');
  });

  it("opens an owner's vehicle to a shop for the shared permissions until the share is revoked", async () => {
    const shopOwn = ids(await api('GET', '/vehicles', tina));
    const created = await api('POST', `/vehicles/${ALICE_CAR}/shares`, alice, {
      granteeTenantId: TENANT,
      permissions: ['vehicles:read', 'dtc:read'],
      validUntil: inAnHour(),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      vehicleId: ALICE_CAR,
      granteeTenantId: TENANT,
      granteeUserId: null,
      permissions: ['vehicles:read', 'dtc:read'],
      createdBy: `user:${alice.userId}`,
      revokedAt: null,
      active: true,
    });
    const shareId = created.body.id as string;
    expect(ids(await api('GET', '/vehicles', tina))).toEqual([...shopOwn, ALICE_CAR].sort());
    expect((await api('GET', `/vehicles/${ALICE_CAR}`, tina)).status).toBe(200);
    // The shop's API keys see it too (row-level security opens it to the tenant).
    const key = (await createApiKey(fx.db, { tenantId: TENANT, name: 'shop', scopes: ['dtc:read'] })).token;
    expect(ids(await api('GET', '/vehicles', key))).toContain(ALICE_CAR);
    // Another shop, another owner: nothing.
    expectProblem(await api('GET', `/vehicles/${ALICE_CAR}`, gil), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await api('GET', `/vehicles/${ALICE_CAR}`, bob), 404, 'VEHICLE_NOT_FOUND');
    // The technician may not pass it on, nor see who else has it.
    expectProblem(
      await api('POST', `/vehicles/${ALICE_CAR}/shares`, tina, {
        granteeTenantId: OTHER_TENANT,
        permissions: ['vehicles:read'],
        validUntil: inAnHour(),
      }),
      403,
      'FORBIDDEN',
    );
    const listed = await api('GET', `/vehicles/${ALICE_CAR}/shares`, alice);
    expect(listed.body).toEqual({ shares: [created.body], next: null });
    expect((await auditLog(fx.db)).find((a) => a.action === 'vehicle-share.created')).toMatchObject({
      actor: `user:${alice.userId}`,
      tenant_id: 'consumers',
      target: ALICE_CAR,
    });

    expect((await api('DELETE', `/vehicles/${ALICE_CAR}/shares/${shareId}`, alice)).status).toBe(204);
    expect(ids(await api('GET', '/vehicles', tina))).toEqual(shopOwn);
    expectProblem(await api('GET', `/vehicles/${ALICE_CAR}`, tina), 404, 'VEHICLE_NOT_FOUND');
    expectProblem(await api('DELETE', `/vehicles/${ALICE_CAR}/shares/${shareId}`, alice), 404, 'SHARE_NOT_FOUND');
    expect(await outboxPayloads(fx.db, 'rbac.roles-changed')).toContainEqual({ vehicleId: ALICE_CAR });
    const after = (await api('GET', `/vehicles/${ALICE_CAR}/shares`, alice)).body.shares as {
      active: boolean;
      revokedAt: string;
    }[];
    expect(after).toEqual([expect.objectContaining({ active: false, revokedAt: expect.any(String) })]);
  });

  it('shares with one person, and ends a share at its time without anyone acting', async () => {
    const withBob = await api('POST', `/vehicles/${ALICE_CAR}/shares`, alice, {
      granteeTenantId: 'consumers',
      granteeUserId: bob.userId,
      permissions: ['vehicles:read'],
      validUntil: new Date(Date.now() + 1500).toISOString(),
    });
    expect(withBob.status, JSON.stringify(withBob.body)).toBe(201);
    expect(ids(await api('GET', '/vehicles', bob))).toEqual([ALICE_CAR, BOB_CAR].sort());
    // Shared for reading only: Bob cannot share it on or read its trouble codes.
    expectProblem(
      await api('POST', `/vehicles/${ALICE_CAR}/shares`, bob, {
        granteeTenantId: TENANT,
        permissions: ['vehicles:read'],
        validUntil: inAnHour(),
      }),
      403,
      'FORBIDDEN',
    );
    expect(ids(await api('GET', '/vehicles', alice))).toEqual([ALICE_CAR]);
    await new Promise((resolve) =>
      setTimeout(resolve, Date.parse(withBob.body.validUntil as string) - Date.now() + 50),
    );
    expect(ids(await api('GET', '/vehicles', bob))).toEqual([BOB_CAR]);
  });

  it('refuses shares that are not time-boxed, too wide, or to nobody in particular', async () => {
    const share = (body: Record<string, unknown>, as: TestUser | string = alice) =>
      api('POST', `/vehicles/${ALICE_CAR}/shares`, as, {
        granteeTenantId: TENANT,
        permissions: ['vehicles:read'],
        validUntil: inAnHour(),
        ...body,
      });
    expectProblem(await share({ validUntil: undefined }), 400, 'VALIDATION_FAILED');
    expectProblem(await share({ validUntil: new Date(Date.now() - 1000).toISOString() }), 422, 'SHARE_INVALID');
    expectProblem(
      await share({ validUntil: new Date(Date.now() + 400 * 86_400_000).toISOString() }),
      422,
      'SHARE_INVALID',
    );
    expectProblem(await share({ permissions: ['roles:write'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await share({ granteeTenantId: 'consumers' }), 422, 'SHARE_INVALID');
    expectProblem(await share({ granteeTenantId: 'nobody-here' }), 404, 'TENANT_NOT_FOUND');
    expectProblem(await share({ granteeTenantId: OTHER_TENANT, granteeUserId: tina.userId }), 404, 'USER_NOT_FOUND');
    expectProblem(await share({}, bob), 404, 'VEHICLE_NOT_FOUND');
    // The admin token may share any vehicle.
    expect((await share({}, ADMIN)).status).toBe(201);
  });
});
