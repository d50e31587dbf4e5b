import { createInProcessBus, signalByKey, type LiveEvent, type LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase, testDatabases, testDatabaseUrl, type OpenTestDatabase } from '@clutch/db/testing';
import { createApiKey } from '@clutch/identity';
import { listenerFor, liveBusSink, startOutboxRelay } from '@clutch/jobs';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject } from 'vitest';
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
  await db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Globex truck', 'Volvo')`, [
    VEHICLE_G,
    OTHER_TENANT,
  ]);
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
  const { rows } = await db.query<{ kind: string }>(
    `SELECT relkind::text AS kind FROM pg_class WHERE relname = 'sample_rollups_1h'`,
  );
  const tables =
    rows[0]?.kind === 'r'
      ? ([
          ['sample_rollups_1m', 'minute'],
          ['sample_rollups_1h', 'hour'],
        ] as const)
      : ([['sample_rollups_1m', 'minute']] as const);
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
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const type = res.headers.get('content-type');
  // Images and CSV are not JSON: their body is left empty (read `res` yourself for their bytes).
  const json = type === null || /json/.test(type);
  const text = json ? await res.text() : (await res.arrayBuffer(), '');
  return {
    status: res.status,
    type,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

/** A problem+json answer with this status and catalogue code (the body is shown when it is not). */
export function expectProblem(res: Reply, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
}

/**
 * GETs against the fixture's server by path, and the full shape every problem must have: RFC 9457
 * members, our code, the request path as `instance`, and no stack trace.
 */
export function httpProbe(baseUrl: () => string): {
  get(path: string, init?: RequestInit): Promise<Reply>;
  expectProblem(path: string, status: number, code: string, init?: RequestInit): Promise<Record<string, unknown>>;
} {
  const get = async (path: string, init?: RequestInit): Promise<Reply> => {
    const res = await fetch(baseUrl() + path, init);
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      headers: res.headers,
    };
  };
  return {
    get,
    async expectProblem(path, status, code, init) {
      const res = await get(path, init);
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status, code, instance: path });
      expect(typeof res.body.type).toBe('string');
      expect(typeof res.body.title).toBe('string');
      expect(typeof res.body.detail).toBe('string');
      expect(JSON.stringify(res.body)).not.toMatch(/ at .*\.(ts|js):\d+/);
      return res.body;
    },
  };
}

/** Opens a fresh, migrated database with the signal catalogue (an opener from backends()). */
export type OpenDatabase = OpenTestDatabase;

export async function openSeededDatabase(
  now: Date,
  open: OpenDatabase = (options) => openTestDatabase('pglite', options),
): Promise<{ db: Database; rpmA: Fixture['rpmA'] }> {
  let rpmA: Fixture['rpmA'] = [];
  const db = await open({ seed: async (d) => void (rpmA = await seed(d, now)) });
  return { db, rpmA };
}

/**
 * The seeded database, the API on a free port and, as the platform runs beside its API, the outbox
 * relay onto the fixture's bus (woken at commit): domain events the API appends (revocations,
 * command statuses) reach `bus` once their transaction committed.
 */
export async function startFixture(
  overrides: Partial<ApiServerOptions> & { health?: HealthCheck; open?: OpenDatabase } = {},
): Promise<Fixture> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const { open, ...options } = overrides;
  const { db, rpmA } = await openSeededDatabase(now, open);
  const bus = createInProcessBus();
  const relay = await startOutboxRelay({
    db,
    sinks: [liveBusSink(bus)],
    listen: listenerFor(db, testDatabaseUrl(db)),
  });
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
      await relay.stop();
      await db.close();
    },
  };
}

/** The events `bus` carries from now on (the fixture's relay delivers committed outbox events to it). */
export function recordEvents(bus: LiveEventBus): { events: LiveEvent[]; stop(): void } {
  const events: LiveEvent[] = [];
  const stop = bus.subscribe((event) => events.push(event));
  return { events, stop };
}

/** The payloads of the committed outbox events of one topic, oldest first. */
export async function outboxPayloads(db: Database, topic: string): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query<{ payload: Record<string, unknown> }>(
    'SELECT payload FROM outbox_events WHERE topic = $1 ORDER BY seq',
    [topic],
  );
  return rows.map((r) => r.payload);
}

/**
 * The two engines the platform runs on, for `describe.each`: driver differences (types, arrays,
 * params) show here. `name` names the PostgreSQL database of the test file.
 */
export function backends(name: string): [string, OpenDatabase | undefined][] {
  return testDatabases(inject('pgAdminUrl'), name);
}

/** The vehicle whose drive, trouble codes, alerts and fixes startDriveFixture lays out (tenant acme). */
export const CAR = 'feedc0de-0000-4000-8000-000000000001';

/**
 * A 12-minute drive at 1 Hz starting on a minute boundary: 60 s idling (0 km/h, 800 rpm), 600 s at
 * 60 km/h (2000 rpm), 60 s idling, then the engine off; fuel at 6 L/h throughout. Samples and
 * their rollups are written the way ingest writes them.
 */
export async function seedDrive(db: Database, start: number): Promise<void> {
  const rows: [Date, number, number][] = [];
  for (let i = 0; i <= 720; i++) {
    const t = new Date(start + i * 1000);
    const moving = i >= 60 && i < 660;
    const off = i === 720;
    rows.push([t, sid('vehicle.speed'), moving ? 60 : 0], [t, sid('engine.rpm'), off ? 0 : moving ? 2000 : 800]);
    if (!off) rows.push([t, sid('fuel.rate'), 6]);
  }
  // Latest values for the health summary: an overheating engine, a fine battery.
  rows.push(
    [new Date(start + 800_000), sid('engine.coolant_temp'), 118],
    [new Date(start + 800_000), sid('battery.voltage'), 12.6],
  );
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT t, $2, $3, s, v FROM unnest($1::timestamptz[], $4::smallint[], $5::float8[]) AS x(t, s, v)`,
    [rows.map((r) => r[0]), TENANT, CAR, rows.map((r) => r[1]), rows.map((r) => r[2])],
  );
  await writeRollups(db, CAR);
}

export interface DriveFixture {
  fx: Fixture;
  /** Start of the drive (a minute boundary two hours before fx.now). */
  start: number;
  /** acme and globex keys with telemetry:read, location:read and dtc:read. */
  acme: string;
  globex: string;
  adminToken: string;
}

/**
 * The seeded fixture (tokens required) plus CAR with its drive, two trouble-code reports (a day and
 * an hour ago) and two alerts (a critical one an hour ago, an acknowledged info two days ago).
 */
export async function startDriveFixture(
  open: OpenDatabase | undefined,
  adminToken = 'admin-token-for-telematics-tests',
): Promise<DriveFixture> {
  const fx = await startFixture({ requireAuth: true, adminToken, ...(open ? { open } : {}) });
  const start = Math.floor(fx.now.getTime() / 60_000) * 60_000 - 2 * 3600_000;
  await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Test car', 'Toyota')`, [
    CAR,
    TENANT,
  ]);
  await fx.db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ($1, 'car-1', $2)`, [TENANT, CAR]);
  await seedDrive(fx.db, start);
  const day = 24 * 3600_000;
  await fx.db.query(
    `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu) VALUES
       ($1, $3, $4, 'P0301', 'stored', '7E8'), ($1, $3, $4, 'P0171', 'pending', '7E8'),
       ($2, $3, $4, 'P0301', 'stored', '7E8'), ($2, $3, $4, 'P0420', 'permanent', NULL)`,
    [new Date(fx.now.getTime() - day), new Date(fx.now.getTime() - 3600_000), TENANT, CAR],
  );
  await fx.db.query(
    `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version, acknowledged_at) VALUES
       ($1, $3, $4, 'coolant_overheat', 'critical', 'Engine overheating', 'Coolant above 110 °C while driving', '{engine.coolant_temp}', '{"peak":118}', 'health-1', NULL),
       ($2, $3, $4, 'anomaly', 'info', 'Unusual idle', 'Idle rpm drifted', '{engine.rpm}', '{}', 'ae-3', $2)`,
    [new Date(fx.now.getTime() - 3600_000), new Date(fx.now.getTime() - 2 * day), TENANT, CAR],
  );
  const scopes = ['telemetry:read', 'location:read', 'dtc:read'] as const;
  const acme = (await createApiKey(fx.db, { tenantId: TENANT, name: 'app', scopes })).token;
  const globex = (await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes })).token;
  return { fx, start, acme, globex, adminToken };
}

/** The audit log, newest first, as an operator reads it. */
export async function auditLog(
  db: Database,
): Promise<
  { actor: string; action: string; target: string | null; tenant_id: string | null; detail: Record<string, unknown> }[]
> {
  const { rows } = await db.query<{
    actor: string;
    action: string;
    target: string | null;
    tenant_id: string | null;
    detail: Record<string, unknown>;
  }>('SELECT actor, action, target, tenant_id, detail FROM audit_log ORDER BY at DESC, id DESC');
  return rows;
}

/**
 * A drive fixture for one describe block: started before its tests, closed after them. The returned
 * view reads the running fixture, and `api` calls as the acme partner.
 */
export function useDriveFixture(open: OpenDatabase | undefined): DriveFixture & {
  api(method: string, path: string, options?: Parameters<typeof call>[3]): Promise<Reply>;
} {
  let running: DriveFixture | undefined;
  beforeAll(async () => {
    running = await startDriveFixture(open);
  });
  afterAll(async () => {
    await running?.fx.close();
  });
  const started = (): DriveFixture => {
    if (!running) throw new Error('the drive fixture is used before its beforeAll ran');
    return running;
  };
  return {
    get fx() {
      return started().fx;
    },
    get start() {
      return started().start;
    },
    get acme() {
      return started().acme;
    },
    get globex() {
      return started().globex;
    },
    get adminToken() {
      return started().adminToken;
    },
    api: (method, path, options = {}) =>
      call(started().fx.api.url, method, path, { token: started().acme, ...options }),
  };
}
