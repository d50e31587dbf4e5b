import { signalCatalogue } from '@clutch/contracts';
import { migrate, openPglite, syncSignals } from '@clutch/db';
import { describe, expect, it } from 'vitest';
import { expireCommands } from './expire.js';

describe('command expiry', () => {
  it('times out unanswered commands past their deadline, once, and leaves answered or live ones alone', async () => {
    const db = await openPglite();
    try {
      await migrate(db);
      await syncSignals(db, signalCatalogue);
      await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
      const v = await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'car') RETURNING id`);
      await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi', $1)`, [v.rows[0]!.id]);
      const insert = async (status: string, expiresIn: string): Promise<string> =>
        (await db.query<{ id: string }>(
          `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', 'pi', $1, 'read_dtcs', $2, now() + $3::interval) RETURNING id`,
          [v.rows[0]!.id, status, expiresIn],
        )).rows[0]!.id;
      const overdue = await insert('sent', '-1 second');
      await insert('succeeded', '-1 second');
      await insert('sent', '1 minute');
      const events = await expireCommands(db);
      expect(events).toEqual([{ type: 'command', tenantId: 'acme', vehicleId: v.rows[0]!.id, commandId: overdue, status: 'timed_out' }]);
      expect(await expireCommands(db)).toEqual([]);
      const { rows } = await db.query<{ status: string }>('SELECT status FROM device_commands ORDER BY created_at, expires_at');
      expect(rows.map((r) => r.status).sort()).toEqual(['sent', 'succeeded', 'timed_out']);
    } finally {
      await db.close();
    }
  });
});
