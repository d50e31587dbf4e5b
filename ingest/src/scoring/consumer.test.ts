import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { signalByKey } from '@clutch/contracts';
import {
  columnsToReadings,
  createOnlineScorer,
  createVehicleNormal,
  type Alert,
  type OnlineScorer,
  type Reading,
  type VehicleNormal,
} from '@clutch/ml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { saveVehicleNormals } from '../normals/repository.js';
import type { SampleRow } from '../processors/normalise.js';
import { createScoringConsumer, type ScorerSlot } from './consumer.js';
import { seedAcmeVehicle } from '../test-fleet.js';

type RecordingScorer = OnlineScorer & {
  seen: { vehicleId: string; values: number[] }[];
  /** Normals this scorer was started from, per vehicle, with the running time they carried. */
  seeded: { vehicleId: string; runningMs: number }[];
};

/**
 * A scorer that records what it was given and raises an alert when a reading's value is 999. Its
 * per-vehicle normal learns one second of running per reading, and a reading of -1 is filtered as
 * an implausible sample, so what the consumer persists is visible in the normal's figures.
 */
function recordingScorer(): RecordingScorer {
  const seen: { vehicleId: string; values: number[] }[] = [];
  const seeded: { vehicleId: string; runningMs: number }[] = [];
  const normals = new Map<string, VehicleNormal>();
  const changed = new Set<string>();
  let filtered: { vehicleId: string; signal: string; filtered: number; example: number; at: number }[] = [];
  const push = (vehicleId: string, readings: readonly Reading[]): Alert[] => {
    seen.push({ vehicleId, values: readings.map((r) => r.value) });
    let normal = normals.get(vehicleId);
    if (!normal) normals.set(vehicleId, (normal = createVehicleNormal()));
    normal.runningMs += 1000 * readings.length;
    changed.add(vehicleId);
    for (const r of readings)
      if (r.value === -1) filtered.push({ vehicleId, signal: r.signal, filtered: 1, example: -1, at: Number(r.time) });
    return readings
      .filter((r) => r.value === 999)
      .map((r): Alert => ({
        vehicleId,
        kind: 'cooling',
        condition: 'cooling.overheat',
        severity: 'critical',
        observed: 999,
        expected: { max: 110 },
        unit: '°C',
        title: 'Engine overheating — stop safely',
        explanation: 'Coolant reads 999 °C.',
        signals: ['engine.coolant_temp'],
        at: Number(r.time),
      }));
  };
  return {
    seen,
    seeded,
    seedNormal(vehicleId, normal) {
      seeded.push({ vehicleId, runningMs: normal.runningMs });
      normals.set(vehicleId, normal);
    },
    normal: (vehicleId) => normals.get(vehicleId),
    takeChangedNormals() {
      const ids = [...changed];
      changed.clear();
      return ids;
    },
    takeDataQuality() {
      const out = filtered;
      filtered = [];
      return out;
    },
    push,
    pushColumns: (vehicleId, ranges) => push(vehicleId, columnsToReadings(ranges)),
    pushFrames: () => [],
    vehicles: () => normals.size,
  };
}

const implementations = testDatabases(inject('pgAdminUrl'), 'ingest_scoring');

describe.each(implementations)('scoring consumer on %s', (_name, open) => {
  let db: Database;
  let vehicleId: string;
  const at = Date.now() - 60_000;
  const addVehicle = async (name: string): Promise<string> =>
    (await db.query<{ id: string }>(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', $1) RETURNING id`, [name]))
      .rows[0]!.id;
  const stored = async (
    vehicle: string,
  ): Promise<{ runningMs: number; status: string; running_hours: number; model_version: string | null } | undefined> =>
    (
      await db.query<{
        runningMs: number;
        status: string;
        running_hours: number;
        model_version: string | null;
      }>(
        `SELECT (state->>'runningMs')::float8 AS "runningMs", status, running_hours, model_version
           FROM vehicle_normals WHERE vehicle_id = $1`,
        [vehicle],
      )
    ).rows[0];
  const row = (value: number, i = 0, vehicle = vehicleId): SampleRow => ({
    timeMs: at + i * 1000,
    timeIso: new Date(at + i * 1000).toISOString(),
    tenantId: 'acme',
    vehicleId: vehicle,
    signalId: 5,
    signalKey: 'engine.coolant_temp',
    value,
  });

  beforeAll(async () => {
    db = await open();
    vehicleId = await seedAcmeVehicle(db, 'Etios');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('scores what is offered after offer() returned, in order, a slice at a time, and stores the alerts it raises with their outbox events', async () => {
    const scorer = recordingScorer();
    // Known to the scorer already: its readings are not held for a stored normal.
    scorer.seedNormal(vehicleId, createVehicleNormal());
    const consumer = createScoringConsumer({ db, scorer: { scorer, modelVersion: 'rules' }, sliceRows: 3 });
    consumer.offer([row(90, 0), row(91, 1)]);
    consumer.offer([row(999, 2), row(92, 3), row(93, 4)]);
    // Nothing is scored inside offer(): the ingest batch is acknowledged without waiting for it.
    expect(scorer.seen).toEqual([]);
    expect(consumer.stats().pendingRows).toBe(5);
    await consumer.idle();
    expect(scorer.seen).toEqual([
      { vehicleId, values: [90, 91, 999] },
      { vehicleId, values: [92, 93] },
    ]);
    expect(consumer.stats()).toMatchObject({ alerts: 1, scoredRows: 5, pendingRows: 0, droppedRows: 0 });
    const alerts = await db.query<{ id: string; kind: string; model_version: string }>(
      `SELECT id::text, kind, model_version FROM alerts WHERE vehicle_id = $1`,
      [vehicleId],
    );
    expect(alerts.rows).toEqual([{ id: expect.any(String), kind: 'cooling', model_version: 'rules' }]);
    const outbox = await db.query<{ payload: { alert: { id: string } } }>(
      `SELECT payload FROM outbox_events WHERE topic = 'vehicle.alert' AND payload->>'vehicleId' = $1`,
      [vehicleId],
    );
    expect(outbox.rows.map((r) => r.payload.alert.id)).toEqual([alerts.rows[0]!.id]);
  });

  it('never holds ingest up: past maxPendingRows the oldest waiting readings are skipped and counted', async () => {
    const scorer = recordingScorer();
    const consumer = createScoringConsumer({ db, scorer: { scorer, modelVersion: null }, maxPendingRows: 4 });
    consumer.offer([row(1), row(2)]);
    consumer.offer([row(3), row(4)]);
    consumer.offer([row(5), row(6)]); // six waiting: the oldest offer goes
    await consumer.idle();
    expect(scorer.seen.flatMap((s) => s.values)).toEqual([3, 4, 5, 6]);
    expect(consumer.stats()).toMatchObject({ scoredRows: 4, droppedRows: 2, pendingRows: 0 });
  });

  it('scores with the scorer in the slot at the time (a newly deployed model), and goes on after a scorer failure', async () => {
    const first = recordingScorer();
    const slot: ScorerSlot = { scorer: first, modelVersion: 'v1' };
    const consumer = createScoringConsumer({ db, scorer: slot });
    consumer.offer([row(10)]);
    await consumer.idle();
    const broken: OnlineScorer = {
      ...recordingScorer(),
      push: () => {
        throw new Error('model file truncated');
      },
    };
    slot.scorer = broken;
    consumer.offer([row(11)]);
    await consumer.idle();
    const second = recordingScorer();
    slot.scorer = second;
    consumer.offer([row(12)]);
    await consumer.idle();
    expect(first.seen.flatMap((s) => s.values)).toEqual([10]);
    expect(second.seen.flatMap((s) => s.values)).toEqual([12]);
    expect(consumer.stats()).toMatchObject({ scoredRows: 3, pendingRows: 0 });
  });

  it("starts a vehicle new to the scorer from its stored normal: its readings wait for that read, other vehicles' do not", async () => {
    const known = await addVehicle('Leon');
    const fresh = await addVehicle('Golf');
    await db.transaction((tx) =>
      saveVehicleNormals(tx, [
        { tenantId: 'acme', vehicleId: known, normal: { ...createVehicleNormal(), runningMs: 7_200_000, trips: 4 } },
      ]),
    );
    const scorer = recordingScorer();
    const consumer = createScoringConsumer({ db, scorer: { scorer, modelVersion: 'rules' }, sliceRows: 2 });
    consumer.offer([row(80, 0, known), row(70, 0, fresh), row(81, 1, known)]);
    consumer.offer([row(82, 2, known), row(71, 1, fresh)]);
    await consumer.idle();
    expect(scorer.seeded).toEqual([{ vehicleId: known, runningMs: 7_200_000 }]);
    // Every reading scored once, each vehicle's in order, the stored normal in place before the first.
    expect(scorer.seen.filter((s) => s.vehicleId === known).flatMap((s) => s.values)).toEqual([80, 81, 82]);
    expect(scorer.seen.filter((s) => s.vehicleId === fresh).flatMap((s) => s.values)).toEqual([70, 71]);
    expect(scorer.normal(known)!.runningMs).toBe(7_200_000 + 3000);
    expect(consumer.stats()).toMatchObject({ scoredRows: 5, pendingRows: 0, normalsLoaded: 1, droppedRows: 0 });
  });

  it('writes the changed normals on idle(), and a new consumer on the same database resumes them (a restart)', async () => {
    const car = await addVehicle('Etios 2');
    const first = recordingScorer();
    const before = createScoringConsumer({ db, scorer: { scorer: first, modelVersion: 'v1' } });
    before.offer([row(80, 0, car), row(81, 1, car), row(-1, 2, car)]);
    await before.idle();
    expect(await stored(car)).toEqual({
      runningMs: 3000,
      status: 'calibrating',
      running_hours: 3000 / 3_600_000,
      model_version: 'v1',
    });
    expect(before.stats()).toMatchObject({ normalsSaved: 1, implausibleSamples: 1 });

    // The process restarts: a new scorer knows nothing, the database does.
    const second = recordingScorer();
    const after = createScoringConsumer({ db, scorer: { scorer: second, modelVersion: 'v1' } });
    after.offer([row(82, 3, car), row(83, 4, car)]);
    await after.idle();
    expect(second.seeded).toEqual([{ vehicleId: car, runningMs: 3000 }]);
    expect(await stored(car)).toMatchObject({ runningMs: 5000 });
  });

  it('writes changed normals every saveNormalsEveryMs while scoring runs, without waiting for idle()', async () => {
    const car = await addVehicle('Etios 3');
    let clock = 1_000_000;
    const scorer = recordingScorer();
    const consumer = createScoringConsumer({
      db,
      scorer: { scorer, modelVersion: 'rules' },
      saveNormalsEveryMs: 60_000,
      now: () => clock,
    });
    consumer.offer([row(80, 0, car)]);
    await expect.poll(() => consumer.stats().scoredRows).toBe(1);
    // Scored, not yet due: nothing written.
    expect(await stored(car)).toBeUndefined();
    clock += 61_000;
    consumer.offer([row(81, 1, car)]);
    await expect.poll(async () => (await stored(car))?.runningMs).toBe(2000);
    await consumer.idle();
  });

  it("carries every vehicle's normal over to a newly deployed scorer in the slot (a model hot swap), unsaved learning included", async () => {
    const car = await addVehicle('Etios 4');
    const first = recordingScorer();
    const slot: ScorerSlot = { scorer: first, modelVersion: 'v1' };
    const consumer = createScoringConsumer({ db, scorer: slot, saveNormalsEveryMs: 3_600_000 });
    consumer.offer([row(80, 0, car), row(81, 1, car)]);
    await expect.poll(() => consumer.stats().scoredRows).toBe(2);
    // Not written yet (the next save is an hour away): only the scorer in memory has it.
    expect(await stored(car)).toBeUndefined();
    const second = recordingScorer();
    slot.scorer = second;
    slot.modelVersion = 'v2';
    consumer.offer([row(82, 2, car)]);
    await consumer.idle();
    expect(second.seeded).toEqual([{ vehicleId: car, runningMs: 2000 }]);
    expect(second.normal(car)!.runningMs).toBe(3000);
    expect(await stored(car)).toMatchObject({ runningMs: 3000, model_version: 'v2' });
    // Carried in memory, not read back from the database.
    expect(consumer.stats()).toMatchObject({ normalsLoaded: 0, scoredRows: 3 });
  });

  it('does not overwrite a normal someone else stored meanwhile (an import): reads it back and learns on from it', async () => {
    const car = await addVehicle('Etios 7');
    const scorer = recordingScorer();
    const consumer = createScoringConsumer({ db, scorer: { scorer, modelVersion: 'rules' } });
    consumer.offer([row(80, 0, car), row(81, 1, car)]);
    await consumer.idle();
    expect(await stored(car)).toMatchObject({ runningMs: 2000 });
    // An import of the car's history, in another process, seeds ten hours.
    await db.transaction((tx) =>
      saveVehicleNormals(tx, [
        { tenantId: 'acme', vehicleId: car, normal: { ...createVehicleNormal(), runningMs: 36_000_000, trips: 12 } },
      ]),
    );
    consumer.offer([row(82, 2, car)]);
    await consumer.idle();
    // The live scorer's save was refused: the import's normal stays.
    expect(await stored(car)).toMatchObject({ runningMs: 36_000_000 });
    consumer.offer([row(83, 3, car)]);
    await consumer.idle();
    expect(scorer.seeded).toEqual([{ vehicleId: car, runningMs: 36_000_000 }]);
    expect(await stored(car)).toMatchObject({ runningMs: 36_001_000 });
    expect(scorer.seen.flatMap((s) => s.values)).toEqual([80, 81, 82, 83]);
  });

  it('calibrates a vehicle again when its stored normal does not parse, and replaces the row', async () => {
    const car = await addVehicle('Etios 5');
    await db.query(
      `INSERT INTO vehicle_normals (vehicle_id, tenant_id, state, status, running_hours, trips)
       VALUES ($1, 'acme', '{"version": 99}', 'calibrated', 40, 30)`,
      [car],
    );
    const scorer = recordingScorer();
    const consumer = createScoringConsumer({ db, scorer: { scorer, modelVersion: 'rules' } });
    consumer.offer([row(80, 0, car)]);
    await consumer.idle();
    expect(scorer.seeded).toEqual([]);
    expect(scorer.seen.flatMap((s) => s.values)).toEqual([80]);
    expect(await stored(car)).toEqual({
      runningMs: 1000,
      status: 'calibrating',
      running_hours: 1000 / 3_600_000,
      model_version: 'rules',
    });
  });

  it('with the real scorer: what a drive taught it survives a restart, through the database', async () => {
    const car = await addVehicle('Etios 6');
    /** A warm engine cruising and idling, one reading per signal a second (what a gateway sends). */
    const drive = (from: number, minutes: number): SampleRow[] => {
      const rows: SampleRow[] = [];
      for (let i = 0; i < minutes * 60; i++) {
        const t = from + i * 1000;
        const moving = Math.floor(i / 120) % 2 === 1;
        const values: Record<string, number> = {
          'engine.rpm': moving ? 2200 + 300 * Math.sin(i / 7) : 780 + 10 * Math.sin(i),
          'vehicle.speed': moving ? 60 + 10 * Math.sin(i / 11) : 0,
          'engine.coolant_temp': 88 + (i % 3),
          'ecu.control_module_voltage': 14.1 + 0.05 * Math.sin(i / 5),
          'throttle.position': moving ? 22 + 4 * Math.sin(i / 7) : 14,
          'engine.load': moving ? 40 + 8 * Math.sin(i / 7) : 22,
        };
        for (const [key, value] of Object.entries(values))
          rows.push({
            timeMs: t,
            timeIso: new Date(t).toISOString(),
            tenantId: 'acme',
            vehicleId: car,
            signalId: signalByKey(key)!.id,
            signalKey: key,
            value,
          });
      }
      return rows;
    };
    const start = Date.now() - 3 * 3_600_000;
    const before = createScoringConsumer({ db, scorer: { scorer: createOnlineScorer(), modelVersion: 'rules' } });
    before.offer(drive(start, 10));
    await before.idle();
    const first = await stored(car);
    expect(first?.runningMs).toBeGreaterThan(5 * 60_000);

    const after = createScoringConsumer({ db, scorer: { scorer: createOnlineScorer(), modelVersion: 'rules' } });
    after.offer(drive(start + 30 * 60_000, 10));
    await after.idle();
    expect(after.stats()).toMatchObject({ normalsLoaded: 1, droppedRows: 0 });
    // Learned on from where it stopped, not from nothing.
    expect((await stored(car))!.runningMs).toBeGreaterThan(first!.runningMs + 5 * 60_000);
  });
});
