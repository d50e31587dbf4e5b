import { signalByKey, type LiveEvent } from '@clutch/contracts';
import { openPostgres, type Database } from '@clutch/db';
import { createApiKey } from '@clutch/identity';
import { createTestDatabase } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, OTHER_TENANT, startFixture, writeRollups, TENANT, VEHICLE_A, VEHICLE_MISSING, type Fixture, type OpenDatabase, type Reply } from './test-fixtures.js';

const ADMIN = 'admin-token-for-telematics-tests';
/** The vehicle whose drive, trouble codes, alerts and fixes this file lays out. */
const CAR = 'feedc0de-0000-4000-8000-000000000001';

const backends: [string, OpenDatabase | undefined][] = [
  ['PGlite', undefined],
  ['PostgreSQL', async () => openPostgres(await createTestDatabase(inject('pgAdminUrl'), 'api_telematics'))],
];

const sid = (key: string): number => signalByKey(key)!.id;

/**
 * A 12-minute drive at 1 Hz starting on a minute boundary: 60 s idling (0 km/h, 800 rpm), 600 s at
 * 60 km/h (2000 rpm), 60 s idling, then the engine off; fuel at 6 L/h throughout. Samples and
 * their rollups are written the way ingest writes them.
 */
async function seedDrive(db: Database, start: number): Promise<void> {
  const rows: [Date, number, number][] = [];
  for (let i = 0; i <= 720; i++) {
    const t = new Date(start + i * 1000);
    const moving = i >= 60 && i < 660;
    const off = i === 720;
    rows.push([t, sid('vehicle.speed'), moving ? 60 : 0], [t, sid('engine.rpm'), off ? 0 : moving ? 2000 : 800]);
    if (!off) rows.push([t, sid('fuel.rate'), 6]);
  }
  // Latest values for the health summary: an overheating engine, a fine battery.
  rows.push([new Date(start + 800_000), sid('engine.coolant_temp'), 118], [new Date(start + 800_000), sid('battery.voltage'), 12.6]);
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT t, $2, $3, s, v FROM unnest($1::timestamptz[], $4::smallint[], $5::float8[]) AS x(t, s, v)`,
    [rows.map((r) => r[0]), TENANT, CAR, rows.map((r) => r[1]), rows.map((r) => r[2])],
  );
  await writeRollups(db, CAR);
}

describe.each(backends)('telematics API on %s', (_name, open) => {
  let fx: Fixture;
  let acme: string;
  let globex: string;
  let start: number;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> => call(fx.api.url, method, path, { token: acme, ...options });
  const iso = (ms: number): string => new Date(ms).toISOString();

  beforeAll(async () => {
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, ...(open ? { open } : {}) });
    start = Math.floor(fx.now.getTime() / 60_000) * 60_000 - 2 * 3600_000;
    await fx.db.query(`INSERT INTO vehicles (id, tenant_id, name, make) VALUES ($1, $2, 'Test car', 'Toyota')`, [CAR, TENANT]);
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
    acme = (await createApiKey(fx.db, { tenantId: TENANT, name: 'app', scopes: ['telemetry:read', 'location:read', 'dtc:read'] })).token;
    globex = (await createApiKey(fx.db, { tenantId: OTHER_TENANT, name: 'fleet', scopes: ['telemetry:read', 'location:read', 'dtc:read'] })).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('GET telemetry with bucket=1m returns the rollups as {time, avg, min, max, n}', async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/telemetry?signal=vehicle.speed&bucket=1m&from=${iso(start + 30_000)}&to=${iso(start + 180_000)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ vehicleId: CAR, signal: 'vehicle.speed', unit: 'km/h', bucket: '1m', from: iso(start), truncated: false });
    expect(res.body.points).toEqual([
      { time: iso(start), avg: 0, min: 0, max: 0, n: 60 },
      { time: iso(start + 60_000), avg: 60, min: 60, max: 60, n: 60 },
      { time: iso(start + 120_000), avg: 60, min: 60, max: 60, n: 60 },
      { time: iso(start + 180_000), avg: 60, min: 60, max: 60, n: 60 },
    ]);
    const hourly = await api('GET', `/api/vehicles/${CAR}/telemetry?signal=engine.rpm&bucket=1h&from=${iso(start - 3600_000)}`);
    const points = hourly.body.points as { n: number; min: number; max: number }[];
    expect(points.reduce((a, p) => a + p.n, 0)).toBe(721);
    expect(Math.min(...points.map((p) => p.min))).toBe(0);
    expect(Math.max(...points.map((p) => p.max))).toBe(2000);
    expect((await api('GET', `/api/vehicles/${CAR}/telemetry?signal=vehicle.speed&bucket=5m`)).body.code).toBe('VALIDATION_FAILED');
  });

  it('GET trips derives the drive: distance, duration, idle, max speed, fuel', async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/trips?from=${iso(start - 3600_000)}&to=${iso(fx.now.getTime())}`);
    expect(res.status).toBe(200);
    const trips = res.body.trips as Record<string, number | string>[];
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ start: iso(start), end: iso(start + 719_000), durationS: 719, maxSpeedKmh: 60 });
    expect(trips[0]!.distanceKm as number).toBeCloseTo(10, 1);
    expect(trips[0]!.idleS as number).toBeCloseTo(119, 0);
    expect(trips[0]!.fuelUsedL as number).toBeCloseTo(1.2, 2);
    expect((await api('GET', `/api/vehicles/${CAR}/trips?from=${iso(fx.now.getTime() - 30 * 60_000)}`)).body.trips).toEqual([]);
    const tooWide = await api('GET', `/api/vehicles/${CAR}/trips?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z`);
    expect(tooWide.body.code).toBe('TIME_RANGE_INVALID');
  });

  it('GET analytics sums the rollups per day', async () => {
    const res = await api('GET', `/api/telematics/analytics?vehicleId=${CAR}&from=${iso(start - 3600_000)}&to=${iso(fx.now.getTime())}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      vehicleId: CAR, distanceKm: 10, drivingMinutes: 10, engineOnMinutes: 12, idleMinutes: 2, idleShare: 0.1667, avgSpeedKmh: 60, maxSpeedKmh: 60,
    });
    const days = res.body.days as { date: string; distanceKm: number }[];
    expect(days.map((d) => d.date)).toContain(iso(start).slice(0, 10));
    expect(days.reduce((a, d) => a + d.distanceKm, 0)).toBeCloseTo(10, 6);
    const empty = await api('GET', `/api/telematics/analytics?vehicleId=${VEHICLE_A}&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
    expect(empty.body).toMatchObject({ distanceKm: 0, drivingMinutes: 0, idleShare: null, avgSpeedKmh: null, maxSpeedKmh: null, days: [] });
  });

  it('GET diagnostics: current codes from the latest report, descriptions, MIL kinds, history', async () => {
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ vehicleId: CAR, reportedAt: iso(fx.now.getTime() - 3600_000), clearedAt: null, milOn: true });
    const current = res.body.current as Record<string, unknown>[];
    expect(current.map((c) => [c.code, c.kind, c.milRelevant, c.system])).toEqual([
      ['P0301', 'stored', true, 'powertrain'],
      ['P0420', 'permanent', true, 'powertrain'],
    ]);
    expect(current[0]!.firstSeen).toBe(iso(fx.now.getTime() - 24 * 3600_000));
    // Descriptions come from the shared data set when it is checked out beside the repository.
    expect([null, 'Cylinder 1 Misfire Detected']).toContain(current[0]!.description);
    expect((res.body.codes as { code: string }[]).map((c) => c.code).sort()).toEqual(['P0171', 'P0301', 'P0420']);
    const history = res.body.history as { time: string; codes: { code: string; kind: string }[] }[];
    expect(history.map((h) => h.codes.map((c) => `${c.code}/${c.kind}`))).toEqual([['P0301/stored', 'P0420/permanent'], ['P0171/pending', 'P0301/stored']]);
    expect(((await api('GET', `/api/obd2/diagnostics/${CAR}?history=1`)).body.history as unknown[]).length).toBe(1);
  });

  it('GET health: signals against ranges, active codes and unacknowledged alerts', async () => {
    const res = await api('GET', `/api/vehicles/${CAR}/health`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('critical');
    const signals = Object.fromEntries((res.body.signals as { signal: string }[]).map((s) => [s.signal, s]));
    expect(signals['engine.coolant_temp']).toMatchObject({ value: 118, status: 'high', expected: { min: null, max: 110 }, stale: true });
    expect(signals['battery.voltage']).toMatchObject({ value: 12.6, status: 'ok' });
    expect(signals['fuel.level']).toMatchObject({ value: null, status: 'unknown' });
    expect((res.body.activeDtcs as { code: string }[]).map((d) => d.code)).toEqual(['P0301', 'P0420']);
    expect((res.body.recentAlerts as { title: string }[]).map((a) => a.title)).toEqual(['Engine overheating', 'Unusual idle']);
    const reasons = res.body.reasons as string[];
    expect(reasons.some((r) => r.includes('coolant') || r.includes('Coolant'))).toBe(true);
    expect(reasons.some((r) => r.includes('P0301'))).toBe(true);
    expect(reasons).toContain('critical alert: Engine overheating');
  });

  it('GET alerts lists newest first and filters unacknowledged', async () => {
    let res = await api('GET', `/api/vehicles/${CAR}/alerts`);
    expect(res.status).toBe(200);
    const alerts = res.body.alerts as Record<string, unknown>[];
    expect(alerts.map((a) => a.kind)).toEqual(['coolant_overheat', 'anomaly']);
    expect(alerts[0]).toMatchObject({ severity: 'critical', signals: ['engine.coolant_temp'], details: { peak: 118 }, modelVersion: 'health-1', acknowledgedAt: null });
    res = await api('GET', `/api/vehicles/${CAR}/alerts?unacknowledged=true`);
    expect((res.body.alerts as unknown[]).length).toBe(1);
  });

  it('a newer report without codes (repaired, or cleared at the car) empties the current codes but keeps the history', async () => {
    const before = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect((before.body.current as unknown[]).length).toBeGreaterThan(0);
    await fx.db.query(`INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count) VALUES ($1, now(), $2, 0)`, [CAR, TENANT]);
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.body).toMatchObject({ milOn: false, current: [] });
    expect((res.body.codes as unknown[]).length).toBe((before.body.codes as unknown[]).length);
    await fx.db.query(`DELETE FROM dtc_reports WHERE vehicle_id = $1`, [CAR]);
  });

  it('a succeeded clear_dtcs after the latest report empties the current codes', async () => {
    await fx.db.query(
      `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at, completed_at) VALUES ($1, 'car-1', $2, 'clear_dtcs', 'succeeded', now(), now())`,
      [TENANT, CAR],
    );
    const res = await api('GET', `/api/obd2/diagnostics/${CAR}`);
    expect(res.body).toMatchObject({ milOn: false, current: [] });
    expect(typeof res.body.clearedAt).toBe('string');
    expect((await api('GET', `/api/vehicles/${CAR}/health`)).body.activeDtcs).toEqual([]);
  });

  it('POST gps stores a fix once (idempotent on vehicle and time) and GET history returns the track', async () => {
    const events: LiveEvent[] = [];
    const stop = fx.bus.subscribe((e) => events.push(e));
    const t = fx.now.getTime() - 5_000;
    const fix = { vehicleId: CAR, v: 1, t, lat: 52.52, lon: 13.405, speedKmh: 42.5, headingDeg: 90, satellites: 9 };
    try {
      let res = await api('POST', '/api/telematics/gps', { token: ADMIN, body: fix });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toEqual({ vehicleId: CAR, time: iso(t), stored: true });
      res = await api('POST', '/api/telematics/gps', { token: ADMIN, body: { ...fix, lat: 10 } });
      expect(res.status).toBe(200);
      expect(res.body.stored).toBe(false);
      expect(events.filter((e) => e.type === 'location')).toEqual([
        { type: 'location', tenantId: TENANT, vehicleId: CAR, at: iso(t), lat: 52.52, lon: 13.405, speedKmh: 42.5, headingDeg: 90 },
      ]);
    } finally {
      stop();
    }
    const track = await api('GET', `/api/telematics/history?vehicleId=${CAR}`);
    expect(track.status).toBe(200);
    expect(track.body.points).toEqual([{ time: iso(t), lat: 52.52, lon: 13.405, altM: null, speedKmh: 42.5, headingDeg: 90, hdop: null, satellites: 9 }]);
    for (const [body, pointer] of [[{ ...fix, lat: 91 }, '/body/lat'], [{ ...fix, v: 2 }, '/body/v'], [{ ...fix, vehicleId: 'x' }, '/body/vehicleId'], [{ ...fix, extra: true }, '/body']] as const) {
      const bad = await api('POST', '/api/telematics/gps', { token: ADMIN, body });
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      expect((bad.body.errors as { pointer: string }[])[0]?.pointer).toBe(pointer);
    }
    expect((await api('POST', '/api/telematics/gps', { token: ADMIN, body: { ...fix, vehicleId: VEHICLE_MISSING } })).body.code).toBe('VEHICLE_NOT_FOUND');
    expect((await api('POST', '/api/telematics/gps', { body: fix })).body.code).toBe('FORBIDDEN');
  });

  it('keeps every telematics route inside the caller\'s tenant', async () => {
    for (const path of [
      `/api/vehicles/${CAR}/trips`, `/api/vehicles/${CAR}/health`, `/api/vehicles/${CAR}/alerts`, `/api/obd2/diagnostics/${CAR}`,
      `/api/telematics/history?vehicleId=${CAR}`, `/api/telematics/analytics?vehicleId=${CAR}`,
    ]) {
      const res = await api('GET', path, { token: globex });
      expect(res.status, path).toBe(404);
      expect(res.body.code, path).toBe('VEHICLE_NOT_FOUND');
    }
  });
});
