import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { completeCommands, expireCommands, insertCommand, markCommandSent, type Database } from './index.js';
import { testDatabases } from './testing.js';

const implementations = testDatabases(inject('pgAdminUrl'), 'device_commands');

describe.each(implementations)('device command lifecycle on %s', (_name, open) => {
  let db: Database;
  let car: string;
  let van: string;

  beforeAll(async () => {
    db = await open();
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    car = (await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'car') RETURNING id`))
      .rows[0]!.id;
    van = (await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'van') RETURNING id`))
      .rows[0]!.id;
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('acme', 'pi', $1), ('acme', 'gx', $2)`, [
      car,
      van,
    ]);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM device_commands');
  });

  /** A command in `status` whose deadline is `expiresIn` (an interval) from the database's now. */
  const command = async (status: string, expiresIn: string, vehicle = car): Promise<string> =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', $1, $2, 'read_dtcs', $3, now() + $4::interval) RETURNING id`,
        [vehicle === car ? 'pi' : 'gx', vehicle, status, expiresIn],
      )
    ).rows[0]!.id;
  const read = async (id: string): Promise<{ status: string; completed: boolean; atDeadline: boolean }> => {
    const { rows } = await db.query<{ status: string; completed: boolean; at_deadline: boolean }>(
      'SELECT status, completed_at IS NOT NULL AS completed, completed_at = expires_at AS at_deadline FROM device_commands WHERE id = $1',
      [id],
    );
    return { status: rows[0]!.status, completed: rows[0]!.completed, atDeadline: rows[0]!.at_deadline ?? false };
  };
  const answer = (id: string, ok = true) => ({ tenantId: 'acme', deviceId: 'pi', result: { v: 1 as const, id, ok } });

  it('times out waiting commands past their deadline, once, dated at the deadline, and leaves answered or live ones alone', async () => {
    const overdue = await command('sent', '-1 second');
    const neverSent = await command('pending', '-1 second');
    const answered = await command('succeeded', '-1 second');
    const live = await command('sent', '1 minute');
    const events = await expireCommands(db);
    expect(
      events.sort((a, b) =>
        a.type === 'command' && b.type === 'command' ? a.commandId.localeCompare(b.commandId) : 0,
      ),
    ).toEqual(
      [overdue, neverSent]
        .sort()
        .map((commandId) => ({ type: 'command', tenantId: 'acme', vehicleId: car, commandId, status: 'timed_out' })),
    );
    expect(await expireCommands(db)).toEqual([]);
    expect(await read(overdue)).toEqual({ status: 'timed_out', completed: true, atDeadline: true });
    expect(await read(neverSent)).toEqual({ status: 'timed_out', completed: true, atDeadline: true });
    expect((await read(answered)).status).toBe('succeeded');
    expect((await read(live)).status).toBe('sent');
  });

  it('times out only the command or the vehicle asked for, by the same rule', async () => {
    const first = await command('sent', '-1 second');
    const second = await command('sent', '-1 second');
    const vans = await command('sent', '-1 second', van);
    expect((await expireCommands(db, { id: first })).map((e) => e.type === 'command' && e.commandId)).toEqual([first]);
    expect((await expireCommands(db, { vehicleId: van })).map((e) => e.type === 'command' && e.commandId)).toEqual([
      vans,
    ]);
    expect((await read(second)).status).toBe('sent');
    expect((await expireCommands(db)).map((e) => e.type === 'command' && e.commandId)).toEqual([second]);
  });

  it("completes a waiting command with its device's answer before the deadline, once", async () => {
    const created = await insertCommand(db, {
      tenantId: 'acme',
      deviceId: 'pi',
      vehicleId: car,
      type: 'read_dtcs',
      params: {},
      timeoutMs: 60_000,
    });
    await markCommandSent(db, created.id);
    expect(await completeCommands(db, [{ ...answer(created.id), deviceId: 'gx' }])).toEqual([]); // another device's answer
    expect(await completeCommands(db, [answer(created.id)])).toEqual([created.id]);
    expect(await completeCommands(db, [answer(created.id, false)])).toEqual([]); // a repeated answer
    expect((await read(created.id)).status).toBe('succeeded');
    expect(await expireCommands(db)).toEqual([]);
  });

  it('an answer arriving after the deadline never revives the command, whether or not the timeout was marked yet', async () => {
    const unmarked = await command('sent', '-1 second');
    expect(await completeCommands(db, [answer(unmarked)])).toEqual([]);
    expect((await read(unmarked)).status).toBe('sent'); // still waiting on paper: the next sweep or read times it out
    expect(await expireCommands(db)).toHaveLength(1);
    const marked = await command('sent', '-1 second');
    await expireCommands(db, { id: marked });
    expect(await completeCommands(db, [answer(marked), answer(unmarked)])).toEqual([]);
    expect([(await read(marked)).status, (await read(unmarked)).status]).toEqual(['timed_out', 'timed_out']);
  });

  it("a command whose deadline is the database's now is timed out, and cannot be answered", async () => {
    // One transaction, so now() is the same instant for the insert, the answer and the expiry.
    await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', 'pi', $1, 'read_dtcs', 'sent', now()) RETURNING id`,
        [car],
      );
      expect(await completeCommands(tx, [answer(rows[0]!.id)])).toEqual([]);
      expect(await expireCommands(tx, { id: rows[0]!.id })).toHaveLength(1);
    });
  });
});
