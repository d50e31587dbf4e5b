import { createInProcessBus, signalByKey, type LiveEvent, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { createOnlineScorer } from '@clutch/ml';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createIngestHandler, type IngestHandler } from './pipeline.js';
import type { QueuedMessage } from './queue/work-queue.js';
import { seedAcmeVehicle } from './test-fleet.js';

// Vehicle-specific signals (Mode 21/22 of an OBDb vehicle profile, keys `vehicle.<obdb id>`) travel the
// same path as the SAE ones: validated against the catalogue, range-checked, stored by id.
const TOPIC = 'clutch/v1/acme/camry-1/telemetry';
const t0 = Date.now() - 60_000;

function message(batch: TelemetryBatch): QueuedMessage {
  return { topic: TOPIC, payload: Buffer.from(JSON.stringify(batch)), receivedAt: Date.now() };
}

const implementations = testDatabases(inject('pgAdminUrl'), 'ingest');

describe.each(implementations)('vehicle-specific signals through ingest on %s', (_name, open) => {
  let db: Database;
  let vehicleId: string;
  let events: LiveEvent[];
  let handler: IngestHandler;

  beforeAll(async () => {
    db = await open();
    vehicleId = await seedAcmeVehicle(db, 'Camry', 'camry-1');
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    for (const table of ['samples', 'dead_letters', 'sample_rollups_1m', 'rollup_dirty', 'alerts'])
      await db.query(`DELETE FROM ${table}`);
    const bus = createInProcessBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    // Scoring on, as in production: the scorer reads only the signals it knows and must pass these by.
    handler = createIngestHandler({ db, bus, scorer: { scorer: createOnlineScorer(), modelVersion: 'rules' } });
  });

  const stored = async (): Promise<[number, string, string, number][]> =>
    (
      await db.query<{ time: Date | string; key: string; name: string; value: number }>(
        `SELECT s.time, g.key, g.name, s.value FROM samples s JOIN signals g ON g.id = s.signal_id
          WHERE s.vehicle_id = $1 ORDER BY s.time, g.key`,
        [vehicleId],
      )
    ).rows.map((r) => [new Date(r.time).getTime(), r.key, r.name, Number(r.value)]);

  it('stores vehicle-specific samples beside SAE ones under their catalogue ids and announces them', async () => {
    await handler.handle([
      message({
        v: 1,
        seq: 1,
        t0,
        samples: [
          [0, 'engine.rpm', 800],
          [0, 'vehicle.camry_12v_v', 12.6],
          [0, 'vehicle.camry_eot', 88],
          [0, 'vehicle.camry_at_lock_up_state', 1],
        ],
      }),
    ]);
    expect(await stored()).toEqual([
      [t0, 'engine.rpm', 'Engine RPM', 800],
      [t0, 'vehicle.camry_12v_v', 'Battery voltage', 12.6],
      [t0, 'vehicle.camry_at_lock_up_state', 'Lock up state', 1],
      [t0, 'vehicle.camry_eot', 'Engine oil temperature', 88],
    ]);
    const ids = (await db.query<{ signal_id: number }>('SELECT DISTINCT signal_id FROM samples')).rows.map((r) =>
      Number(r.signal_id),
    );
    expect(ids).toContain(signalByKey('vehicle.camry_12v_v')!.id);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'readings',
        vehicleId,
        readings: expect.arrayContaining([expect.objectContaining({ signal: 'vehicle.camry_12v_v', value: 12.6 })]),
      }),
    );
    expect((await db.query('SELECT 1 FROM dead_letters')).rows).toEqual([]);
  });

  it('refuses a vehicle-specific value outside its OBDb range and keeps the rest of the batch', async () => {
    // CAMRY_12V_V: fmt max 79 V; CAMRY_EOT: -40..215 °C
    await handler.handle([
      message({
        v: 1,
        seq: 2,
        t0,
        samples: [
          [0, 'vehicle.camry_12v_v', 80],
          [0, 'vehicle.camry_eot', -41],
          [0, 'vehicle.camry_12v_v', 14.1],
        ],
      }),
    ]);
    expect(await stored()).toEqual([[t0, 'vehicle.camry_12v_v', 'Battery voltage', 14.1]]);
    const letters = (await db.query<{ reason: string }>('SELECT reason FROM dead_letters')).rows;
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toContain('vehicle.camry_12v_v = 80 is outside 0..79 V');
    expect(letters[0]!.reason).toContain('vehicle.camry_eot = -41 is outside -40..215 °C');
  });

  it('dead-letters a batch naming a vehicle key the catalogue does not have, as any unknown key', async () => {
    await handler.handle([message({ v: 1, seq: 3, t0, samples: [[0, 'vehicle.camry_flux_capacitor', 1.21]] })]);
    expect(await stored()).toEqual([]);
    const letters = (await db.query<{ reason: string }>('SELECT reason FROM dead_letters')).rows;
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringContaining('unknown signal key "vehicle.camry_flux_capacitor"'),
    ]);
  });
});
