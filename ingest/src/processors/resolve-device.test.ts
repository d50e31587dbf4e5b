import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceResolver } from './resolve-device.js';

describe('device resolver', () => {
  let db: Database;
  const vehicles: string[] = [];

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
    for (const [tenant, device] of [
      ['acme', 'pi-1'],
      ['globex', 'pi-1'],
      ['acme', 'pi-2'],
    ] as const) {
      const v = await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ($1, $2) RETURNING id`, [
        tenant,
        device,
      ]);
      vehicles.push(v.rows[0]!.id);
      await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, $2, $3)`, [
        tenant,
        device,
        v.rows[0]!.id,
      ]);
    }
  });
  afterAll(async () => {
    await db?.close();
  });

  it("resolves a whole batch of devices in one prefetch, each to its own tenant's vehicle", async () => {
    const resolver = createDeviceResolver(db);
    await resolver.prefetch([
      { tenantId: 'acme', deviceId: 'pi-1' },
      { tenantId: 'globex', deviceId: 'pi-1' },
      { tenantId: 'acme', deviceId: 'pi-2' },
      { tenantId: 'acme', deviceId: 'pi-1' },
      { tenantId: 'acme', deviceId: 'ghost' },
    ]);
    // Served from the cache from now on: the rows can go (re-provisioning calls forget()).
    await db.query('UPDATE devices SET vehicle_id = $1', [vehicles[0]]);
    expect(await resolver.resolve('acme', 'pi-1')).toEqual({
      tenantId: 'acme',
      deviceId: 'pi-1',
      vehicleId: vehicles[0],
    });
    expect(await resolver.resolve('globex', 'pi-1')).toEqual({
      tenantId: 'globex',
      deviceId: 'pi-1',
      vehicleId: vehicles[1],
    });
    expect(await resolver.resolve('acme', 'pi-2')).toEqual({
      tenantId: 'acme',
      deviceId: 'pi-2',
      vehicleId: vehicles[2],
    });
    await db.query(
      'UPDATE devices d SET vehicle_id = v.id FROM vehicles v WHERE v.tenant_id = d.tenant_id AND v.name = d.id',
    );
  });

  it('does not remember a device that is not provisioned, so it is found once it is', async () => {
    const resolver = createDeviceResolver(db);
    await resolver.prefetch([{ tenantId: 'acme', deviceId: 'pi-3' }]);
    expect(await resolver.resolve('acme', 'pi-3')).toBeNull();
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi-3', $1)`, [vehicles[2]]);
    expect(await resolver.resolve('acme', 'pi-3')).toMatchObject({ vehicleId: vehicles[2] });
  });
});
