import { signalByKey, signalCatalogue } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TelemetryRepository } from './repository.js';

const implementations = testDatabases(inject('pgAdminUrl'), 'latest');

const sid = (key: string): number => signalByKey(key)!.id;
const MINUTE = 60_000;

describe.each(implementations)('latest values on %s', (_name, open) => {
  let db: Database;
  const now = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000;
  const at = (msAgo: number): Date => new Date(now - msAgo);
  let vehicle: string;
  let other: string;

  beforeAll(async () => {
    db = await open();
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    const ids = await db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'A'), ('acme', 'B') RETURNING id`,
    );
    [vehicle, other] = ids.rows.map((r) => r.id) as [string, string];
    const samples: [Date, string, number, number][] = [
      [at(3 * 3600_000), vehicle, sid('engine.rpm'), 800],
      [at(2 * 3600_000), vehicle, sid('engine.rpm'), 900],
      [at(3600_000), vehicle, sid('vehicle.speed'), 40],
      // Two in one minute: the newer one is the latest.
      [new Date(now - 3600_000 - 20_000), vehicle, sid('engine.coolant_temp'), 85],
      [new Date(now - 3600_000 - 5_000), vehicle, sid('engine.coolant_temp'), 86],
      [at(31 * 24 * 3600_000), vehicle, sid('battery.voltage'), 12.1],
      [at(5_000), other, sid('engine.rpm'), 4444],
    ];
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
       SELECT t, 'acme', v, s, x FROM unnest($1::timestamptz[], $2::uuid[], $3::smallint[], $4::float8[]) AS u(t, v, s, x)`,
      [samples.map((s) => s[0]), samples.map((s) => s[1]), samples.map((s) => s[2]), samples.map((s) => s[3])],
    );
    // Everything so far is summed in the minute rollups, as ingest leaves it.
    await db.query(
      `INSERT INTO sample_rollups_1m (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
       SELECT date_trunc('minute', time), tenant_id, vehicle_id, signal_id, count(*), sum(value), min(value), max(value)
         FROM samples GROUP BY 1, 2, 3, 4`,
    );
    // A newer speed 20 minutes ago whose minute is not summed yet: its transaction left a mark.
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, 57)`,
      [at(20 * MINUTE), vehicle, sid('vehicle.speed')],
    );
    await db.query(
      `INSERT INTO rollup_dirty (vehicle_id, minute, worker) VALUES ($1, date_trunc('minute', $2::timestamptz), 'w1')`,
      [vehicle, at(20 * MINUTE)],
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  const latest = async (vehicleId: string): Promise<Record<string, { value: number; time: string }>> => {
    const rows = await new TelemetryRepository(db).latest(
      vehicleId,
      signalCatalogue.map((s) => s.id),
      at(30 * 24 * 3600_000),
      at(10 * MINUTE),
      at(-5 * MINUTE),
    );
    return Object.fromEntries(
      rows.map((r) => [
        signalCatalogue.find((s) => s.id === Number(r.signal_id))!.key,
        { value: Number(r.value), time: new Date(r.time).toISOString() },
      ]),
    );
  };

  it('finds values older than the raw window through the rollups, and the newest sample inside that minute', async () => {
    const values = await latest(vehicle);
    expect(values['engine.rpm']).toEqual({ value: 900, time: at(2 * 3600_000).toISOString() });
    expect(values['engine.coolant_temp']).toEqual({ value: 86, time: new Date(now - 3600_000 - 5_000).toISOString() });
  });

  it('reads raw samples back to the oldest minute not yet summed, so a value there is not missed', async () => {
    expect((await latest(vehicle))['vehicle.speed']).toEqual({ value: 57, time: at(20 * MINUTE).toISOString() });
  });

  it('leaves out signals never sent, values older than the window, and other vehicles', async () => {
    const values = await latest(vehicle);
    expect(Object.keys(values).sort()).toEqual(['engine.coolant_temp', 'engine.rpm', 'vehicle.speed']);
    expect(await latest(other)).toEqual({ 'engine.rpm': { value: 4444, time: at(5_000).toISOString() } });
  });

  it('under a tenant, sees the marks of its own vehicles only', async () => {
    await db.query(`INSERT INTO tenants (id, name) VALUES ('globex', 'Globex')`);
    const visible = async (tenant: string): Promise<number> =>
      db.withTenant(
        tenant,
        async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM rollup_dirty')).rows[0]!.n,
      );
    expect(await visible('acme')).toBe(1);
    expect(await visible('globex')).toBe(0);
    const scoped = await db.withTenant('acme', (tx) =>
      new TelemetryRepository(tx).latest(
        vehicle,
        [sid('vehicle.speed')],
        at(30 * 24 * 3600_000),
        at(10 * MINUTE),
        at(-5 * MINUTE),
      ),
    );
    expect(scoped.map((r) => Number(r.value))).toEqual([57]);
  });

  it('formats sample times exactly as JavaScript prints them, over the whole range a request can name', async () => {
    const times = ['0050-06-01T00:00:00.001Z', '1999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'];
    for (const time of times)
      await db.query(
        `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1::text::timestamptz, 'acme', $2, $3, 1)`,
        [time, other, sid('fuel.level')],
      );
    const rows = await new TelemetryRepository(db).range(
      other,
      sid('fuel.level'),
      new Date('0001-01-01T00:00:00Z'),
      new Date('9999-12-31T23:59:59.999Z'),
      10,
    );
    expect(rows.map((r) => r.iso ?? new Date(r.time!).toISOString())).toEqual([
      '0050-06-01T00:00:00.001Z',
      '1999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ]);
    expect(rows.every((r) => r.iso !== null && r.time === null)).toBe(true);
  });

  it('aggregates a series into the points the API answers, and leaves years past 9999 to the row path', async () => {
    const times = ['0050-06-01T00:00:00.001Z', '1999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'];
    const signal = sid('intake.air_temp');
    // Values read back as the very doubles stored, through their text.
    const values = [20.25, 0.1 + 0.2, -1e-7];
    for (const [i, time] of times.entries())
      await db.query(
        `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1::text::timestamptz, 'acme', $2, $3, $4)`,
        [time, other, signal, values[i]],
      );
    const repo = new TelemetryRepository(db);
    const all = await repo.rangePoints(
      other,
      signal,
      new Date('0001-01-01T00:00:00Z'),
      new Date('9999-12-31T23:59:59.999Z'),
      10,
    );
    expect(all).toEqual([
      { time: '0050-06-01T00:00:00.001Z', value: 20.25 },
      { time: '1999-12-31T23:59:59.999Z', value: 0.30000000000000004 },
      { time: '9999-12-31T23:59:59.999Z', value: -1e-7 },
    ]);
    // The limit cuts in time order, as the row path does; nothing found is an empty series.
    expect(
      await repo.rangePoints(other, signal, new Date('1000-01-01T00:00:00Z'), new Date('9999-12-31T23:59:59.999Z'), 1),
    ).toEqual([{ time: '1999-12-31T23:59:59.999Z', value: 0.30000000000000004 }]);
    expect(
      await repo.rangePoints(other, signal, new Date('2000-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'), 5),
    ).toEqual([]);
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ('10000-01-01T00:00:00Z', 'acme', $1, $2, 1)`,
      [other, signal],
    );
    // A bound past year 9999 (a Date there does not serialise on every driver; PostgreSQL reads 'infinity').
    const past9999 = 'infinity' as unknown as Date;
    expect(await repo.rangePoints(other, signal, new Date('0001-01-01T00:00:00Z'), past9999, 10)).toBeUndefined();
  });

  it('regression 12.2: a sample dated 2121, or 10 minutes ahead, is never the latest value', async () => {
    // As ingest stored such rows before the time window: the sample, its minute's rollup and its mark.
    const future = [new Date(Date.UTC(2121, 0, 1)), at(-10 * MINUTE)];
    for (const [i, time] of future.entries()) {
      await db.query(
        `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, $4)`,
        [time, other, sid('engine.rpm'), 9000 + i],
      );
      await db.query(
        `INSERT INTO sample_rollups_1m (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max) VALUES (date_trunc('minute', $1::timestamptz), 'acme', $2, $3, 1, $4, $4, $4)`,
        [time, other, sid('engine.rpm'), 9000 + i],
      );
    }
    await db.query(
      `INSERT INTO rollup_dirty (vehicle_id, minute, worker) VALUES ($1, date_trunc('minute', $2::timestamptz), 'w1')`,
      [other, future[0]],
    );
    expect(await latest(other)).toEqual({ 'engine.rpm': { value: 4444, time: at(5_000).toISOString() } });
  });
});
