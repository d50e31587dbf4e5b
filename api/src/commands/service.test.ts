import { createInProcessBus, type LiveEvent } from '@clutch/contracts';
import { expireCommands, type Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommandsService, type CommandScope } from './service.js';

describe("command expiry on read and by ingest's sweep", () => {
  let db: Database;
  let vehicleId: string;
  let published: LiveEvent[];
  let commands: CommandsService;
  /** A partner's request: tenant-confined, as the API runs it. */
  let partner: CommandScope;

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
    const bus = createInProcessBus();
    published = [];
    bus.subscribe((e) => published.push(e));
    commands = new CommandsService(undefined, bus, pino({ level: 'silent' }));
  });

  const overdue = async (): Promise<string> =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', 'pi', $1, 'read_dtcs', 'sent', now() - interval '1 second') RETURNING id`,
        [vehicleId],
      )
    ).rows[0]!.id;
  const timedOut = (commandId: string): LiveEvent => ({
    type: 'command',
    tenantId: 'acme',
    vehicleId,
    commandId,
    status: 'timed_out',
  });

  it('a read that finds a command past its deadline times it out and announces it; the sweep after it finds nothing', async () => {
    const id = await overdue();
    const read = await commands.get(partner, id);
    expect(read).toMatchObject({ status: 'timed_out', completedAt: read.expiresAt });
    expect(published).toEqual([timedOut(id)]);
    expect(await expireCommands(db)).toEqual([]); // ingest's sweep (startIngest)
    expect(await commands.get(partner, id)).toEqual(read);
    expect(published).toHaveLength(1);
  });

  it('after the sweep timed a command out (and announced it), a read returns the same command and announces nothing', async () => {
    const id = await overdue();
    expect(await expireCommands(db)).toEqual([timedOut(id)]);
    const read = await commands.get(partner, id);
    expect(read).toMatchObject({ status: 'timed_out', completedAt: read.expiresAt });
    expect(published).toEqual([]);
  });

  it("listing a vehicle's commands times out its overdue ones, each announced once", async () => {
    const [a, b] = [await overdue(), await overdue()];
    const listed = await commands.list(partner, vehicleId, 10);
    expect(listed.map((c) => c.status)).toEqual(['timed_out', 'timed_out']);
    expect(published.map((e) => (e.type === 'command' ? e.commandId : '')).sort()).toEqual([a, b].sort());
    await commands.list(partner, vehicleId, 10);
    expect(published).toHaveLength(2);
  });
});
