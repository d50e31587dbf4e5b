// Issue 12, finding 1: one tenant's poison messages must not stall ingest for every tenant. The real
// broker and ingest on PGlite; a hostile device publishes more poison than ingest has workers while
// a good car of another tenant keeps sending.
import { startBroker, type RunningBroker } from '@clutch/broker';
import { createInProcessBus, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { aedesSource, startIngest, type RunningIngest } from '@clutch/ingest';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';

describe('hostile input through the broker', () => {
  let db: Database;
  let broker: RunningBroker;
  let ingest: RunningIngest;
  let goodVehicle: string;
  let evilVehicle: string;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    goodVehicle = (
      await ensureDevice(db, { tenantId: 'good', tenantName: 'Good', deviceId: 'g-1', vehicle: { name: 'Good car' } })
    ).vehicleId;
    evilVehicle = (
      await ensureDevice(db, { tenantId: 'evil', tenantName: 'Evil', deviceId: 'e-1', vehicle: { name: 'Evil car' } })
    ).vehicleId;
    broker = await startBroker({ mqttPort: 0 });
    ingest = await startIngest({
      db,
      bus: createInProcessBus(),
      source: aedesSource(broker.aedes),
      rollupIntervalMs: 0,
      maintenanceIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await ingest?.stop();
    await broker?.close();
    await db?.close();
  });

  it("regression 12.1: poison messages of one tenant are dead-lettered while another tenant's samples are all stored", async () => {
    const now = Date.now();
    const dashes = '-'.repeat(36);
    // Twelve poison messages: three times the four workers that used to retry them for ever.
    const poison: [string, unknown][] = [
      ['telemetry', { v: 1, seq: 1, t0: now, clockOffsetMs: 1e300, samples: [[0, 'engine.rpm', 800]] }],
      ['telemetry', { v: 1, seq: 2, t0: now, clockOffsetMs: -1e300, samples: [[0, 'engine.rpm', 800]] }],
      ['telemetry', { v: 1, seq: 3, t0: now, clockOffsetMs: 3e11, samples: [[0, 'engine.rpm', 800]] }],
      ['telemetry', { v: 1, seq: 4, t0: Date.UTC(2121, 0, 1), samples: [[0, 'engine.coolant_temp', 125]] }],
      ['telemetry', { v: 1, seq: 5, t0: now - 40 * 86_400_000, samples: [[0, 'engine.rpm', 800]] }],
      ['telemetry', { v: 1, seq: 6, t0: now, clockOffsetMs: 9 * 365 * 86_400_000, samples: [[0, 'engine.rpm', 800]] }],
      ['telemetry', { v: 1, seq: 7, t0: now, samples: [[0, 'engine.rpm', 1e308]] }],
      ['location', { v: 1, t: Date.UTC(2121, 0, 1), lat: 48.1, lon: 11.5 }],
      ['location', { v: 1, t: now, lat: 1e308, lon: -1e308 }],
      ['dtc', { v: 1, t: 1e300, codes: [] }],
      ['dtc', { v: 1, t: now + 3600_000, codes: [{ code: 'P0301', kind: 'stored' }] }],
      [`cmd/${dashes}/result`, { v: 1, id: dashes, ok: true }],
    ];
    const evil = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'evil-e-1' });
    const good = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'good-g-1' });
    try {
      for (const [kind, payload] of poison)
        await evil.publishAsync(`clutch/v1/evil/e-1/${kind}`, JSON.stringify(payload), { qos: 1 });
      let sent = 0;
      for (let seq = 0; seq < 20; seq++) {
        const samples: TelemetryBatch['samples'] = [
          [0, 'engine.rpm', 800 + seq],
          [0, 'vehicle.speed', seq],
          [500, 'engine.coolant_temp', 90],
        ];
        await good.publishAsync(
          'clutch/v1/good/g-1/telemetry',
          JSON.stringify({ v: 1, seq, t0: now - 120_000 + seq * 1000, samples }),
          { qos: 1 },
        );
        sent += samples.length;
        // Poison keeps arriving in between, as from a device stuck in a loop.
        if (seq % 5 === 0)
          await evil.publishAsync('clutch/v1/evil/e-1/telemetry', JSON.stringify(poison[seq % 7]![1]), { qos: 1 });
      }
      const count = async (sql: string, params: unknown[] = []): Promise<number> =>
        Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
      await expect
        .poll(() => count('SELECT count(*) AS n FROM samples WHERE vehicle_id = $1', [goodVehicle]), {
          timeout: 20_000,
          interval: 100,
        })
        .toBe(sent);
      await expect
        .poll(() => count(`SELECT count(*) AS n FROM dead_letters WHERE tenant_id = 'evil'`), {
          timeout: 20_000,
          interval: 100,
        })
        .toBe(poison.length + 4);
      expect(await count('SELECT count(*) AS n FROM samples WHERE vehicle_id = $1', [evilVehicle])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM dead_letters WHERE tenant_id IS DISTINCT FROM 'evil'`)).toBe(0);
      const reasons = (await db.query<{ reason: string }>(`SELECT reason FROM dead_letters ORDER BY id`)).rows.map(
        (r) => r.reason,
      );
      expect(reasons).toContainEqual(expect.stringContaining('clockOffsetMs'));
      expect(reasons).toContainEqual(
        expect.stringMatching(/is dated 2121-01-01T00:00:00\.000Z, after the accepted window/),
      );
      expect(reasons).toContainEqual(expect.stringMatching(/^refused by the database: .*\(22P02\)$/));
      expect(ingest.stats()).toMatchObject({ lastError: null, queueDepth: 0 });
    } finally {
      await evil.endAsync();
      await good.endAsync();
    }
  });
});
