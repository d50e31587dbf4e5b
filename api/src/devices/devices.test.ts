import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseCommits } from '@clutch/db/testing';
import { createApiKey, verifyDeviceCredential } from '@clutch/identity';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  outboxPayloads,
  recordEvents,
  startFixture,
  TENANT,
  VEHICLE_A,
  VEHICLE_B,
  VEHICLE_G,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';

describe.each(backends('api_devices'))('device administration on %s', (_name, open) => {
  let fx: Fixture;
  let acmeRead: string;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
    acmeRead = (await createApiKey(fx.db, { tenantId: TENANT, name: 'garage', scopes: ['telemetry:read'] })).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('devices', () => {
    it('provisions a device on a new vehicle and shows the MQTT login once', async () => {
      const res = await api('POST', '/api/devices', {
        token: ADMIN,
        body: {
          tenantId: TENANT,
          deviceId: 'pi-new',
          vehicle: { name: 'Red estate', vin: '1HGCM82633A004353', make: 'Skoda', modelYear: 2020 },
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const login = res.body.login as { username: string; password: string };
      expect(login.username).toBe(`${TENANT}/pi-new`);
      expect(login.password.length).toBeGreaterThanOrEqual(20);
      expect(res.headers.get('location')).toBe(`/api/vehicles/${String(res.body.vehicleId)}`);
      expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-new', login.password)).toBe(true);
      const vehicle = await api('GET', `/api/vehicles/${String(res.body.vehicleId)}`, { token: acmeRead });
      expect(vehicle.body).toMatchObject({
        name: 'Red estate',
        make: 'Skoda',
        deviceIds: ['pi-new'],
        online: false,
        lastSeenAt: null,
      });
    });

    it("provisions onto an existing vehicle, and refuses duplicates, unknown tenants and other tenants' vehicles", async () => {
      const res = await api('POST', '/api/devices', {
        token: ADMIN,
        body: { tenantId: TENANT, deviceId: 'pi-b1', vehicleId: VEHICLE_B },
      });
      expect(res.status).toBe(201);
      expect(res.body.vehicleId).toBe(VEHICLE_B);
      expectProblem(
        await api('POST', '/api/devices', {
          token: ADMIN,
          body: { tenantId: TENANT, deviceId: 'pi-b1', vehicleId: VEHICLE_B },
        }),
        409,
        'DEVICE_EXISTS',
      );
      expectProblem(
        await api('POST', '/api/devices', { token: ADMIN, body: { tenantId: 'nobody', deviceId: 'pi-x' } }),
        404,
        'TENANT_NOT_FOUND',
      );
      expectProblem(
        await api('POST', '/api/devices', {
          token: ADMIN,
          body: { tenantId: TENANT, deviceId: 'pi-x', vehicleId: VEHICLE_G },
        }),
        404,
        'VEHICLE_NOT_FOUND',
      );
    });

    it('a retried POST with the same Idempotency-Key provisions once and replays the first answer', async () => {
      const key = { 'idempotency-key': '"provision-pi-idem-1"' };
      const body = { tenantId: TENANT, deviceId: 'pi-idem', vehicleId: VEHICLE_B };
      const first = await api('POST', '/api/devices', { token: ADMIN, body, headers: key });
      expect(first.status).toBe(201);
      const again = await api('POST', '/api/devices', { token: ADMIN, body, headers: key });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      // The same password: the device was provisioned once, not rotated by the retry.
      expect(again.body).toEqual(first.body);
      expect(
        await verifyDeviceCredential(fx.db, TENANT, 'pi-idem', (first.body.login as { password: string }).password),
      ).toBe(true);
      expectProblem(
        await api('POST', '/api/devices', { token: ADMIN, body: { ...body, deviceId: 'pi-idem-2' }, headers: key }),
        422,
        'IDEMPOTENCY_KEY_REUSED',
      );
      // Without the key, the duplicate is the ordinary conflict.
      expectProblem(await api('POST', '/api/devices', { token: ADMIN, body }), 409, 'DEVICE_EXISTS');
    });

    it('validates the body with pointers', async () => {
      const cases: [unknown, string][] = [
        [{ tenantId: TENANT, deviceId: 'has/slash' }, '/body/deviceId'],
        [{ tenantId: TENANT, deviceId: 'ok', vehicleId: VEHICLE_B, vehicle: { name: 'x' } }, '/body/vehicle'],
        [{ tenantId: TENANT, deviceId: 'ok', vehicle: { name: 'x', vin: 'IIIIIIIIIIIIIIIII' } }, '/body/vehicle/vin'],
        [{ tenantId: TENANT, deviceId: 'ok', extra: 1 }, '/body'],
      ];
      for (const [body, pointer] of cases) {
        const res = await api('POST', '/api/devices', { token: ADMIN, body });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect((res.body.errors as { pointer: string }[])[0]?.pointer, JSON.stringify(body)).toBe(pointer);
      }
      const res = await fetch(`${fx.api.url}/api/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: '{"tenantId":',
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
    });

    it('rotates and revokes credentials, ending live sessions through the outbox and the bus', async () => {
      const { events, stop } = recordEvents(fx.bus);
      try {
        const created = await api('POST', '/api/devices', {
          token: ADMIN,
          body: { tenantId: TENANT, deviceId: 'pi-rot', vehicleId: VEHICLE_A },
        });
        const first = (created.body.login as { password: string }).password;
        const rotated = await api('POST', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN });
        expect(rotated.status).toBe(200);
        const second = (rotated.body.login as { password: string }).password;
        expect(second).not.toBe(first);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', first)).toBe(false);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', second)).toBe(true);
        const revoked = await api('DELETE', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN });
        expect(revoked.status).toBe(204);
        expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-rot', second)).toBe(false);
        const ended = { type: 'device-revoked', tenantId: TENANT, vehicleId: VEHICLE_A, deviceId: 'pi-rot' };
        await expect.poll(() => events, { timeout: 5000 }).toEqual([ended, ended]);
        expect((await api('DELETE', `/api/devices/${TENANT}/pi-rot/credentials`, { token: ADMIN })).status).toBe(204);
      } finally {
        stop();
      }
      expectProblem(
        await api('POST', `/api/devices/${TENANT}/ghost/credentials`, { token: ADMIN }),
        404,
        'DEVICE_NOT_FOUND',
      );
      expectProblem(
        await api('DELETE', `/api/devices/${OTHER_TENANT}/pi-a1/credentials`, { token: ADMIN }),
        404,
        'DEVICE_NOT_FOUND',
      );
    });
  });

  it('announces no device-revoked when the rotation or revocation does not commit, and the old password keeps working', async () => {
    const created = await api('POST', '/api/devices', {
      token: ADMIN,
      body: { tenantId: TENANT, deviceId: 'pi-doomed', vehicleId: VEHICLE_A },
    });
    const password = (created.body.login as { password: string }).password;
    await refuseCommits(fx.db, 'device_credentials', `NEW.device_id = 'pi-doomed'`);
    const { events, stop } = recordEvents(fx.bus);
    try {
      expectProblem(
        await api('POST', `/api/devices/${TENANT}/pi-doomed/credentials`, { token: ADMIN }),
        500,
        'INTERNAL',
      );
      expectProblem(
        await api('DELETE', `/api/devices/${TENANT}/pi-doomed/credentials`, { token: ADMIN }),
        500,
        'INTERNAL',
      );
      expect(await verifyDeviceCredential(fx.db, TENANT, 'pi-doomed', password)).toBe(true);
      // A revocation that commits is delivered after them (the relay keeps commit order).
      await api('POST', '/api/devices', {
        token: ADMIN,
        body: { tenantId: TENANT, deviceId: 'pi-fine', vehicleId: VEHICLE_A },
      });
      expect((await api('DELETE', `/api/devices/${TENANT}/pi-fine/credentials`, { token: ADMIN })).status).toBe(204);
      await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(events).toEqual([{ type: 'device-revoked', tenantId: TENANT, vehicleId: VEHICLE_A, deviceId: 'pi-fine' }]);
      expect((await outboxPayloads(fx.db, 'device.revoked')).filter((p) => p.deviceId === 'pi-doomed')).toEqual([]);
    } finally {
      stop();
    }
  });

  it('records each provisioning, rotation and revocation in the audit log (who, what, which tenant), and nothing for refusals', async () => {
    const before = (await auditLog(fx.db)).length;
    const created = await api('POST', '/api/devices', {
      token: ADMIN,
      body: { tenantId: TENANT, deviceId: 'pi-audit', vehicleId: VEHICLE_B },
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/api/devices/${TENANT}/pi-audit/credentials`, { token: ADMIN })).status).toBe(200);
    expect((await api('DELETE', `/api/devices/${TENANT}/pi-audit/credentials`, { token: ADMIN })).status).toBe(204);
    expectProblem(
      await api('POST', '/api/devices', {
        token: ADMIN,
        body: { tenantId: TENANT, deviceId: 'pi-audit', vehicleId: VEHICLE_B },
      }),
      409,
      'DEVICE_EXISTS',
    );
    const rows = await auditLog(fx.db);
    expect(rows.length - before).toBe(3);
    expect(rows.slice(0, 3).map((r) => [r.actor, r.action, r.target, r.tenant_id])).toEqual([
      ['admin', 'device.credential.revoke', `${TENANT}/pi-audit`, TENANT],
      ['admin', 'device.credential.rotate', `${TENANT}/pi-audit`, TENANT],
      ['admin', 'device.provision', `${TENANT}/pi-audit`, TENANT],
    ]);
    expect(rows[2]!.detail).toEqual({ vehicleId: VEHICLE_B, newVehicle: false });
    // Row-level security: a tenant reads its own audit rows only.
    const visible = async (tenant: string): Promise<number> =>
      fx.db.withTenant(
        tenant,
        async (q) => (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n,
      );
    expect(await visible(TENANT)).toBeGreaterThanOrEqual(3);
    expect(await visible(OTHER_TENANT)).toBe(0);
  });
});
