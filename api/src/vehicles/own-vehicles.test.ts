import { createApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../auth/scope.js';
import type { CachedReading, LatestLookup, LatestValuesCache } from '../telemetry/latest-cache.js';
import {
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  VEHICLE_A,
  type Fixture,
} from '../test-fixtures.js';
import { createOwnVehicles } from './own-vehicles.js';

/**
 * The vehicle check skipped for a partner's own vehicles (own-vehicles.ts) must never open a
 * vehicle to anyone the database would refuse: another tenant's key, a share that ended, a
 * signed-in user. And a partner's reads of its own vehicle answer as they did with the check.
 */

/** Ingest's latest-values cache as the API sees it: a view holds its readings, or takes a fill. */
function memoryLatestValues(): LatestValuesCache {
  const entries = new Map<string, CachedReading[]>();
  return {
    async read(view, vehicleId): Promise<LatestLookup> {
      const readings = entries.get(`${view}/${vehicleId}`);
      return readings ? { hit: true, readings } : { hit: false, ticket: 'ticket' };
    },
    async fill(view, vehicleId, _ticket, readings) {
      entries.set(`${view}/${vehicleId}`, [...readings]);
    },
  };
}

const LOAN_CAR = '10a2ca00-0000-4000-8000-0000000000e1';
const noAudit = async (): Promise<void> => {};

describe.each(backends('api_own_vehicles'))("a partner's own vehicles on %s", (_name, open) => {
  let fx: Fixture;
  let acme: string;
  let globex: string;
  const get = (path: string, token: string) => call(fx.api.url, 'GET', `/api${path}`, { token });
  const dataRoutes = [
    `/vehicles/${VEHICLE_A}/latest`,
    `/vehicles/${VEHICLE_A}/health`,
    `/vehicles/${VEHICLE_A}/telemetry?signal=engine.rpm`,
    `/vehicles/${VEHICLE_A}/alerts`,
  ];

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, latestValues: memoryLatestValues(), ...(open ? { open } : {}) });
    const scopes = ['telemetry:read', 'status:read', 'dtc:read'];
    acme = (await createApiKey(fx.db, { tenantId: TENANT, name: 'acme app', scopes })).token;
    globex = (await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'globex app', scopes })).token;
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('answers the owning tenant the same on every read, from the caches after the first', async () => {
    const first = await get(`/vehicles/${VEHICLE_A}/latest`, acme);
    expect(first.status).toBe(200);
    const rpm = (first.body.readings as { signal: string; value: number }[]).find((r) => r.signal === 'engine.rpm');
    expect(rpm?.value).toBe(fx.rpmA.at(-1)!.value);
    for (let i = 0; i < 3; i++) expect((await get(`/vehicles/${VEHICLE_A}/latest`, acme)).body).toEqual(first.body);
    for (const path of dataRoutes) expect((await get(path, acme)).status, path).toBe(200);
  });

  it("keeps another tenant's key out of a vehicle its owner's key has just read", async () => {
    for (const path of dataRoutes) expect((await get(path, acme)).status, path).toBe(200);
    for (const path of dataRoutes) expectProblem(await get(path, globex), 404, 'VEHICLE_NOT_FOUND');
  });

  it('opens a shared vehicle to the grantee only while the share lasts: its end counts at once', async () => {
    const { rows } = await fx.db.query<{ id: string }>(
      `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
       VALUES ($1, $2, $3, ARRAY['telemetry:read'], now() + interval '1 hour', 'test') RETURNING id`,
      [TENANT, VEHICLE_A, OTHER_TENANT],
    );
    for (const path of dataRoutes) expect((await get(path, globex)).status, path).toBe(200);
    // Twice more, so anything the first reads could have remembered is in place.
    for (const path of dataRoutes) expect((await get(path, globex)).status, path).toBe(200);
    await fx.db.query(`UPDATE vehicle_shares SET revoked_at = now(), revoked_by = 'test' WHERE id = $1`, [rows[0]!.id]);
    for (const path of dataRoutes) expectProblem(await get(path, globex), 404, 'VEHICLE_NOT_FOUND');
    // The owner's key is not affected.
    for (const path of dataRoutes) expect((await get(path, acme)).status, path).toBe(200);
  });

  it('remembers only API keys’ own vehicles, and for the TTL: a vehicle gone from the database is gone after it', async () => {
    let clock = 1_000_000;
    const own = createOwnVehicles({ ttlMs: 5000, now: () => clock });
    const partner = Scope.for(
      fx.db,
      { kind: 'partner', tenantId: TENANT, keyId: 'k1', scopes: ['telemetry:read'], expiresAt: null },
      noAudit,
    );
    const other = Scope.for(
      fx.db,
      { kind: 'partner', tenantId: OTHER_TENANT, keyId: 'k2', scopes: ['telemetry:read'], expiresAt: null },
      noAudit,
    );
    // A vehicle of its own for this test, with nothing stored under it, so it can be deleted.
    await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name) VALUES ($1, $2, 'Loan car')`, [LOAN_CAR, TENANT]);
    expect(own.known(partner, LOAN_CAR)).toBeUndefined();
    await partner.run((q) => own.require(partner, q, LOAN_CAR, 'telemetry:read'));
    expect(own.known(partner, LOAN_CAR)).toEqual({ tenantId: TENANT, shared: false });
    // Keyed by tenant: another tenant's scope neither reads the finding nor gets past the database.
    expect(own.known(other, LOAN_CAR)).toBeUndefined();
    await expect(other.run((q) => own.require(other, q, LOAN_CAR, 'telemetry:read'))).rejects.toMatchObject({
      code: 'VEHICLE_NOT_FOUND',
    });
    // An administrator's scope (unconfined) is never remembered.
    const admin = Scope.for(fx.db, { kind: 'admin', dev: false }, noAudit);
    await admin.run((q) => own.require(admin, q, LOAN_CAR, 'telemetry:read'));
    expect(own.size()).toBe(1);

    // Deleted behind the API's back (the API has no route that deletes or moves a vehicle).
    await fx.db.query(`DELETE FROM vehicles WHERE id = $1`, [LOAN_CAR]);
    clock += 4999;
    expect(own.known(partner, LOAN_CAR)).toBeDefined();
    clock += 1;
    expect(own.known(partner, LOAN_CAR)).toBeUndefined();
    await expect(partner.run((q) => own.require(partner, q, LOAN_CAR, 'telemetry:read'))).rejects.toMatchObject({
      code: 'VEHICLE_NOT_FOUND',
    });
  });
});
