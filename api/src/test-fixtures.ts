import { createInProcessBus, signalByKey, signalCatalogue, type LiveEventBus } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { pino } from 'pino';
import type { HealthCheck } from './health/service.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';

export const TENANT = 'acme';
export const VEHICLE_A = '0b9e8f2a-1c3d-4e5f-8a6b-7c8d9e0f1a2b';
export const VEHICLE_B = '5d4c3b2a-6e7f-4a8b-9c0d-1e2f3a4b5c6d';
/** A second tenant, so isolation between tenants shows. */
export const OTHER_TENANT = 'globex';
export const VEHICLE_G = 'c0ffee00-1111-4222-8333-444455556666';
/** Well-formed but never inserted. */
export const VEHICLE_MISSING = '99999999-9999-4999-8999-999999999999';

export interface Fixture {
  db: Database;
  bus: LiveEventBus;
  api: ApiServer;
  /** Whole-second "now" the samples were laid out around. */
  now: Date;
  /** rpm samples of vehicle A, oldest first, as stored. */
  rpmA: { time: Date; value: number }[];
  close(): Promise<void>;
}

const sid = (key: string): number => {
  const s = signalByKey(key);
  if (!s) throw new Error(`no signal ${key}`);
  return s.id;
};

export async function seed(db: Database, now: Date): Promise<Fixture['rpmA']> {
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Acme Motors')`, [TENANT]);
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, vin, make, model, model_year) VALUES
       ($1, $3, 'Blue hatchback', '1HGCM82633A004352', 'Honda', 'Civic', 2019),
       ($2, $3, 'Work van', NULL, 'Ford', 'Transit', 2021)`,
    [VEHICLE_A, VEHICLE_B, TENANT],
  );
  await db.query(
    `INSERT INTO devices (tenant_id, id, vehicle_id, last_seq, last_seen_at) VALUES
       ($1, 'pi-a2', $2, 10, $3), ($1, 'pi-a1', $2, 40, $4)`,
    [TENANT, VEHICLE_A, new Date(now.getTime() - 3600_000), new Date(now.getTime() - 60_000)],
  );
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Globex Logistics')`, [OTHER_TENANT]);
  await db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Globex truck', 'Volvo')`, [VEHICLE_G, OTHER_TENANT]);
  await db.query(
    `INSERT INTO devices (tenant_id, id, vehicle_id, last_seen_at, online, presence_changed_at) VALUES ($1, 'gx-1', $2, $3, true, $3)`,
    [OTHER_TENANT, VEHICLE_G, new Date(now.getTime() - 5_000)],
  );
  // Vehicle A: rpm each minute for the last 20 minutes plus one sample two hours back; speed and
  // coolant a few times. Vehicle B: its own rpm, so leaks across vehicles would show.
  const rpmA = Array.from({ length: 20 }, (_, i) => ({
    time: new Date(now.getTime() - (20 - i) * 60_000),
    value: 1000 + i * 50,
  }));
  rpmA.push({ time: new Date(now.getTime() - 30_000), value: 2150 });
  const rows: [Date, string, string, number, number][] = [
    [new Date(now.getTime() - 2 * 3600_000), TENANT, VEHICLE_A, sid('engine.rpm'), 900],
    ...rpmA.map((p): [Date, string, string, number, number] => [p.time, TENANT, VEHICLE_A, sid('engine.rpm'), p.value]),
    [new Date(now.getTime() - 120_000), TENANT, VEHICLE_A, sid('vehicle.speed'), 40],
    [new Date(now.getTime() - 20_000), TENANT, VEHICLE_A, sid('vehicle.speed'), 57],
    [new Date(now.getTime() - 20_000), TENANT, VEHICLE_A, sid('engine.coolant_temp'), 88],
    [new Date(now.getTime() - 20_000), TENANT, VEHICLE_A, sid('battery.voltage'), 12.6],
    [new Date(now.getTime() - 10_000), TENANT, VEHICLE_B, sid('engine.rpm'), 3333],
    [new Date(now.getTime() - 10_000), OTHER_TENANT, VEHICLE_G, sid('engine.rpm'), 4444],
  ];
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::smallint[], $5::float8[])`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3]), rows.map((r) => r[4])],
  );
  await writeRollups(db);
  return [{ time: rows[0]![0], value: 900 }, ...rpmA];
}

/**
 * Rollups as ingest maintains them, recomputed from the samples (optionally of one vehicle). The
 * hourly rollup is a view over the minutes in newer schemas and a table in older ones: fill it only
 * when it is a table.
 */
export async function writeRollups(db: Database, vehicleId?: string): Promise<void> {
  const { rows } = await db.query<{ kind: string }>(`SELECT relkind::text AS kind FROM pg_class WHERE relname = 'sample_rollups_1h'`);
  const tables = rows[0]?.kind === 'r' ? ([['sample_rollups_1m', 'minute'], ['sample_rollups_1h', 'hour']] as const) : ([['sample_rollups_1m', 'minute']] as const);
  for (const [table, unit] of tables) {
    await db.query(
      `INSERT INTO ${table} (bucket, tenant_id, vehicle_id, signal_id, n, sum, min, max)
       SELECT date_trunc('${unit}', time), tenant_id, vehicle_id, signal_id, count(*), sum(value), min(value), max(value)
         FROM samples WHERE $1::uuid IS NULL OR vehicle_id = $1 GROUP BY 1, 2, 3, 4`,
      [vehicleId ?? null],
    );
  }
}

export interface Reply {
  status: number;
  type: string | null;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One HTTP call as a client makes it: JSON in, JSON (or problem+json) out. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

export type OpenDatabase = () => Promise<Database>;

export async function openSeededDatabase(now: Date, open: OpenDatabase = () => openPglite()): Promise<{ db: Database; rpmA: Fixture['rpmA'] }> {
  const db = await open();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  const rpmA = await seed(db, now);
  return { db, rpmA };
}

export async function startFixture(
  overrides: Partial<ApiServerOptions> & { health?: HealthCheck; open?: OpenDatabase } = {},
): Promise<Fixture> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const { open, ...options } = overrides;
  const { db, rpmA } = await openSeededDatabase(now, open);
  const bus = createInProcessBus();
  const api = await startApiServer({
    db,
    bus,
    health: async () => ({ broker: { status: 'up' } }),
    logger: pino({ level: 'silent' }),
    port: 0,
    ...options,
  });
  return {
    db,
    bus,
    api,
    now,
    rpmA,
    async close() {
      await api.close();
      await db.close();
    },
  };
}
