import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';
import { simulatedCarTenant } from '../fleet/simulated-fleet.js';
import { seedDemoAccounts } from './demo-accounts.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'demo_accounts'))('demo accounts: %s', (_engine, open) => {
  let db: Database;
  const dir = mkdtempSync(join(tmpdir(), 'clutch-demo-accounts-'));
  const vehicleOf: Record<string, string> = {};

  beforeAll(async () => {
    db = await open({ signals: false });
    // Three simulated cars as the fleet provisions them, and a device of a registered owner.
    for (const i of [1, 2, 3]) {
      const deviceId = `sim-00${i}`;
      const d = await ensureDevice(db, { ...simulatedCarTenant(i), deviceId, vehicle: { name: `car ${i}` } });
      vehicleOf[deviceId] = d.vehicleId;
    }
    const own = await ensureDevice(db, {
      tenantId: 'consumers',
      tenantName: 'Car owners',
      deviceId: 'dongle-1',
      vehicle: { name: 'not a demo car' },
    });
    vehicleOf['dongle-1'] = own.vehicleId;
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants each account its built-in role and gives the owner the consumer tenant’s simulated cars, once', async () => {
    const first = await seedDemoAccounts(db, { dir, ownedVehicleTenant: 'consumers' });
    const again = await seedDemoAccounts(db, { dir, ownedVehicleTenant: 'consumers' });
    expect(again).toEqual(first);

    const { rows: grants } = await db.query<{ email: string; tenant_id: string; key: string }>(
      `SELECT u.email, g.tenant_id, r.key FROM role_grants g JOIN users u ON u.id = g.user_id
         JOIN roles r ON r.id = g.role_id ORDER BY u.email`,
    );
    expect(grants).toEqual([
      { email: 'admin@demo.clutch.test', tenant_id: 'platform', key: 'platform-admin' },
      { email: 'owner@demo.clutch.test', tenant_id: 'consumers', key: 'owner' },
      { email: 'shop-admin@demo.clutch.test', tenant_id: 'demo-shop', key: 'partner-admin' },
      { email: 'technician@demo.clutch.test', tenant_id: 'demo-shop', key: 'technician' },
    ]);

    const { rows: owned } = await db.query<{ id: string; tenant_id: string }>(
      `SELECT v.id, v.tenant_id FROM vehicles v JOIN users u ON u.id = v.owner_user_id
        WHERE u.email = 'owner@demo.clutch.test' ORDER BY v.id`,
    );
    expect(owned.map((v) => v.id).sort()).toEqual([vehicleOf['sim-001'], vehicleOf['sim-003']].sort());
    expect(owned.every((v) => v.tenant_id === 'consumers')).toBe(true);

    // Granted once, audited once, by the seed.
    const { rows: audited } = await db.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE action = 'role.granted'`,
    );
    expect(audited).toHaveLength(4);
    expect(audited.every((a) => a.actor === 'demo-seed')).toBe(true);
  });
});
