import { expireCommands, type Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outboxPayloads } from '../test-fixtures.js';
import { CommandsService, type CommandPolicy, type CommandScope } from './service.js';

describe("command expiry on read and by ingest's sweep", () => {
  let db: Database;
  let vehicleId: string;
  let commands: CommandsService;
  /** A partner's request: tenant-confined, as the API runs it. */
  let partner: CommandScope;
  /** The partner key holds commands:write on its tenant's vehicles (the policy function's answer). */
  const allowed: CommandPolicy = { decide: async () => ({ allow: true, reason: 'a key of the vehicle tenant' }) };

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    vehicleId = (
      await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'car') RETURNING id`)
    ).rows[0]!.id;
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi', $1)`, [vehicleId]);
    partner = { run: (fn) => db.withTenant('acme', fn) };
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM device_commands');
    await db.query('DELETE FROM outbox_events');
    commands = new CommandsService(undefined, pino({ level: 'silent' }));
  });

  const overdue = async (): Promise<string> =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', 'pi', $1, 'read_dtcs', 'sent', now() - interval '1 second') RETURNING id`,
        [vehicleId],
      )
    ).rows[0]!.id;
  /** The `command` events committed to the outbox (the relay delivers exactly these). */
  const announced = (): Promise<Record<string, unknown>[]> => outboxPayloads(db, 'vehicle.command');
  const timedOut = (commandId: string): Record<string, unknown> => ({ vehicleId, commandId, status: 'timed_out' });

  it('a read that finds a command past its deadline times it out and announces it; the sweep after it finds nothing', async () => {
    const id = await overdue();
    const read = await commands.get(partner, id, allowed);
    expect(read).toMatchObject({ status: 'timed_out', completedAt: read.expiresAt });
    expect(await announced()).toEqual([timedOut(id)]);
    expect(await expireCommands(db)).toEqual([]); // the rule ingest's sweep applies
    expect(await commands.get(partner, id, allowed)).toEqual(read);
    expect(await announced()).toHaveLength(1);
  });

  it('after the sweep timed a command out, a read returns the same command and announces nothing', async () => {
    const id = await overdue();
    expect(await expireCommands(db)).toHaveLength(1);
    const read = await commands.get(partner, id, allowed);
    expect(read).toMatchObject({ status: 'timed_out', completedAt: read.expiresAt });
    expect(await announced()).toEqual([]);
  });

  it("listing a vehicle's commands times out its overdue ones, each announced once", async () => {
    const [a, b] = [await overdue(), await overdue()];
    const listed = await commands.list(partner, vehicleId, { limit: 10 });
    expect(listed.items.map((c) => c.status)).toEqual(['timed_out', 'timed_out']);
    expect(listed.next).toBeNull();
    expect((await announced()).map((e) => e.commandId).sort()).toEqual([a, b].sort());
    await commands.list(partner, vehicleId, { limit: 10 });
    expect(await announced()).toHaveLength(2);
  });

  it('a read whose transaction rolls back announces nothing and leaves the command waiting', async () => {
    const id = await overdue();
    const rolledBack: CommandScope = {
      run: (fn) =>
        db.withTenant('acme', async (q) => {
          await fn(q);
          throw new Error('the request failed after the read');
        }),
    };
    await expect(commands.get(rolledBack, id, allowed)).rejects.toThrow('the request failed after the read');
    expect(await announced()).toEqual([]);
    const { rows } = await db.query<{ status: string }>('SELECT status FROM device_commands WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'sent' }]);
  });
});
