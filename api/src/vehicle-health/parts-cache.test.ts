import type { LiveEvent, LiveEventHandler } from '@clutch/contracts';
import { saveVehicleNormals } from '@clutch/ingest';
import { appendLiveEvent } from '@clutch/jobs';
import { calibrationStatus, createVehicleNormal } from '@clutch/ml';
import { describe, expect, it } from 'vitest';
import { backends, CAR, TENANT, useDriveFixture } from '../test-fixtures.js';
import { createHealthPartsCache, type HealthParts } from './parts-cache.js';

/**
 * The health summary's codes, alerts and calibration, kept per own vehicle (parts-cache.ts): a cached
 * answer is never staler than its invalidation promises. Ingest's commits announce new codes, alerts,
 * command answers and saved normals on the bus; the next read after the announcement shows the change.
 */

const parts = (codes: string[]): HealthParts => ({
  dtcs: codes.map((code) => ({ code }) as HealthParts['dtcs'][number]),
  alerts: [],
  calibration: { ...calibrationStatus(createVehicleNormal()), updatedAt: null },
});

describe('health parts cache', () => {
  it('holds parts per tenant and vehicle until validUntil and at most maxAge', () => {
    let now = 1_000;
    const cache = createHealthPartsCache({ maxAgeMs: 500, now: () => now });
    cache.fill('acme', 'v1', cache.ticket('v1'), parts(['P0301']), 1_200);
    expect(cache.get('acme', 'v1', now)?.dtcs.map((d) => d.code)).toEqual(['P0301']);
    expect(cache.get('globex', 'v1', now)).toBeUndefined();
    // An alert leaving the window (validUntil) ends the entry.
    expect(cache.get('acme', 'v1', 1_200)).toBeUndefined();
    cache.fill('acme', 'v2', cache.ticket('v2'), parts([]), Infinity);
    now = 1_499;
    expect(cache.get('acme', 'v2', now)).toBeDefined();
    // Nothing is trusted past maxAge, however long its alerts stay in the window.
    now = 1_500;
    expect(cache.get('acme', 'v2', now)).toBeUndefined();
  });

  it('a read that started before an invalidation does not fill', () => {
    const cache = createHealthPartsCache();
    const before = cache.ticket('v1');
    const other = cache.ticket('v2');
    cache.invalidate('v1');
    cache.fill('acme', 'v1', before, parts(['P0301']), Infinity);
    expect(cache.get('acme', 'v1', Date.now())).toBeUndefined();
    // Another vehicle's read is not voided by it.
    cache.fill('acme', 'v2', other, parts([]), Infinity);
    expect(cache.get('acme', 'v2', Date.now())).toBeDefined();
    cache.fill('acme', 'v1', cache.ticket('v1'), parts(['P0420']), Infinity);
    expect(cache.get('acme', 'v1', Date.now())?.dtcs.map((d) => d.code)).toEqual(['P0420']);
  });

  it('drops a vehicle on its dtc, alert, command and normal events, and ignores the others', () => {
    const handlers: LiveEventHandler[] = [];
    const cache = createHealthPartsCache();
    cache.listen({ subscribe: (h) => (handlers.push(h), () => undefined) });
    const publish = (event: LiveEvent): void => handlers.forEach((h) => h(event));
    const fill = (): void => cache.fill('acme', 'v1', cache.ticket('v1'), parts([]), Infinity);
    const held = (): boolean => cache.get('acme', 'v1', Date.now()) !== undefined;
    const events: LiveEvent[] = [
      { type: 'dtc', tenantId: 'acme', vehicleId: 'v1', at: new Date().toISOString(), codes: [] },
      { type: 'command', tenantId: 'acme', vehicleId: 'v1', commandId: 'c1', status: 'succeeded' },
      {
        type: 'alert',
        tenantId: 'acme',
        vehicleId: 'v1',
        alert: {} as Extract<LiveEvent, { type: 'alert' }>['alert'],
      },
      { type: 'normal', tenantId: 'acme', vehicleIds: ['v3', 'v1'] },
    ];
    for (const event of events) {
      fill();
      publish({ type: 'dtc', tenantId: 'acme', vehicleId: 'v2', at: new Date().toISOString(), codes: [] });
      publish({ type: 'normal', tenantId: 'acme', vehicleIds: ['v2', 'v3'] });
      expect(held()).toBe(true);
      publish(event);
      expect(held()).toBe(false);
    }
  });

  it('keeps at most maxEntries vehicles, the least recently read going first', () => {
    const cache = createHealthPartsCache({ maxEntries: 2 });
    const now = Date.now();
    for (const v of ['v1', 'v2']) cache.fill('acme', v, cache.ticket(v), parts([]), Infinity);
    cache.get('acme', 'v1', now);
    cache.fill('acme', 'v3', cache.ticket('v3'), parts([]), Infinity);
    expect(cache.get('acme', 'v2', now)).toBeUndefined();
    expect(cache.get('acme', 'v1', now)).toBeDefined();
    expect(cache.get('acme', 'v3', now)).toBeDefined();
  });
});

describe.each(backends('api_health_parts'))('health summary from cached parts on %s', (_name, open) => {
  const d = useDriveFixture(open);
  const codes = async (token?: string): Promise<string[]> => {
    const res = await d.api('GET', `/api/vehicles/${CAR}/health`, token ? { token } : {});
    expect(res.status).toBe(200);
    return (res.body.activeDtcs as { code: string }[]).map((c) => c.code);
  };
  const alertTitles = async (): Promise<string[]> => {
    const res = await d.api('GET', `/api/vehicles/${CAR}/health`);
    expect(res.status).toBe(200);
    return (res.body.recentAlerts as { title: string }[]).map((a) => a.title);
  };
  /** Resolves when the relay has put an event of this type for CAR on the bus. */
  const announced = (type: LiveEvent['type']): Promise<void> =>
    new Promise((resolve) => {
      const stop = d.fx.bus.subscribe((event) => {
        const about =
          event.type === 'normal' ? event.vehicleIds.includes(CAR) : 'vehicleId' in event && event.vehicleId === CAR;
        if (event.type === type && about) {
          stop();
          resolve();
        }
      });
    });

  it('a new trouble-code report shows on the first read after ingest announced it', async () => {
    expect(await codes()).toEqual(['P0301', 'P0420']);
    const at = new Date(d.fx.now.getTime() - 60_000);
    // Written without an announcement, the report is not read: the summary came from the cache.
    await d.fx.db.query(
      `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu) VALUES ($1, $2, $3, 'P0128', 'stored', '7E8')`,
      [at, TENANT, CAR],
    );
    expect(await codes()).toEqual(['P0301', 'P0420']);
    // As ingest stores a report: the row and its `dtc` event in one transaction.
    const seen = announced('dtc');
    await d.fx.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count) VALUES ($1, $2, $3, 1)`, [
        CAR,
        at,
        TENANT,
      ]);
      await appendLiveEvent(tx, {
        type: 'dtc',
        tenantId: TENANT,
        vehicleId: CAR,
        at: at.toISOString(),
        codes: [{ code: 'P0128', kind: 'stored' }],
      });
    });
    await seen;
    expect(await codes()).toEqual(['P0128']);
  });

  it('a new alert shows on the first read after scoring announced it', async () => {
    expect(await alertTitles()).toEqual(['Engine overheating', 'Unusual idle']);
    const seen = announced('alert');
    await d.fx.db.transaction(async (tx) => {
      const at = new Date(d.fx.now.getTime() - 60_000);
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version)
         VALUES ($1, $2, $3, 'battery_low', 'warning', 'Battery low', 'Below 12 V at rest', '{battery.voltage}', '{}', 'health-1')
         RETURNING id`,
        [at, TENANT, CAR],
      );
      await appendLiveEvent(tx, {
        type: 'alert',
        tenantId: TENANT,
        vehicleId: CAR,
        alert: {
          id: String(rows[0]!.id),
          kind: 'battery_low',
          severity: 'warning',
          title: 'Battery low',
          explanation: 'Below 12 V at rest',
          signals: ['battery.voltage'],
          at: at.toISOString(),
        },
      });
    });
    await seen;
    expect(await alertTitles()).toEqual(['Battery low', 'Engine overheating', 'Unusual idle']);
  });

  it('a normal saved by scoring shows on the first read after its announcement, and only then', async () => {
    const calibration = async (): Promise<{ trips: number; updatedAt: string | null }> => {
      const res = await d.api('GET', `/api/vehicles/${CAR}/health`);
      expect(res.status).toBe(200);
      return res.body.calibration as { trips: number; updatedAt: string | null };
    };
    const save = async (trips: number): Promise<void> => {
      const seen = announced('normal');
      await d.fx.db.transaction((tx) =>
        saveVehicleNormals(tx, [{ tenantId: TENANT, vehicleId: CAR, normal: { ...createVehicleNormal(), trips } }]),
      );
      await seen;
    };
    expect(await calibration()).toMatchObject({ trips: 0, updatedAt: null });
    await save(3);
    expect(await calibration()).toMatchObject({ trips: 3, updatedAt: expect.any(String) });
    // Written without an announcement, the row is not read: the summary came from the cache.
    await d.fx.db.query(`UPDATE vehicle_normals SET trips = 9, revision = revision + 1 WHERE vehicle_id = $1`, [CAR]);
    expect(await calibration()).toMatchObject({ trips: 3 });
    // Scoring's next save over it (ingest/src/normals/repository.ts) is announced, and read.
    await save(5);
    expect(await calibration()).toMatchObject({ trips: 5 });
    await d.fx.db.query(`DELETE FROM vehicle_normals WHERE vehicle_id = $1`, [CAR]);
  });

  it("another tenant's key still gets 404 after the owner's summary was cached", async () => {
    await codes();
    const res = await d.api('GET', `/api/vehicles/${CAR}/health`, { token: d.globex });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('VEHICLE_NOT_FOUND');
  });
});
