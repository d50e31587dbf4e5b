import { createInProcessBus, type LiveEvent, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { testDatabases, testDatabaseUrl } from '@clutch/db/testing';
import { listenerFor, liveBusSink, startOutboxRelay, type OutboxRelay } from '@clutch/jobs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIngestHandler } from '../pipeline.js';
import type { QueuedMessage } from '../queue/work-queue.js';
import { startThreadedScoring, type ThreadedScoring } from './threaded.js';
import { seedAcmeVehicle } from '../test-fleet.js';

function message(device: string, batch: TelemetryBatch): QueuedMessage {
  return {
    topic: `clutch/v1/acme/${device}/telemetry`,
    payload: Buffer.from(JSON.stringify(batch)),
    receivedAt: Date.now(),
  };
}

/** A minute of idling at 1 Hz with the given coolant temperature (°C). */
function idlingMinute(seq: number, t0: number, coolant: number): TelemetryBatch {
  const samples: TelemetryBatch['samples'] = [];
  for (let s = 0; s < 60; s++)
    samples.push(
      [s * 1000, 'engine.rpm', 750 + (s % 7)],
      [s * 1000, 'vehicle.speed', 0],
      [s * 1000, 'engine.coolant_temp', coolant + (s % 2)],
      [s * 1000, 'ecu.control_module_voltage', 13.9 + (s % 3) * 0.01],
      [s * 1000, 'fuel.trim.short_term_b1', (s % 5) - 2],
      [s * 1000, 'fuel.trim.long_term_b1', -1],
    );
  return { v: 1, seq, t0, samples };
}

/** Two normal minutes, then two at 125 °C: the health checks' overheating alert. */
function overheatingDrive(device: string, start: number): QueuedMessage[] {
  return [88, 88, 125, 125].map((coolant, minute) =>
    message(device, idlingMinute(100 + minute, start + minute * 60_000, coolant)),
  );
}

describe.each(testDatabases(inject('pgAdminUrl'), 'ingest'))('scoring on its own thread, %s', (_name, open) => {
  let db: Database;
  let vehicleId: string;
  const relayed: LiveEvent[] = [];
  let relay: OutboxRelay | undefined;
  const started: ThreadedScoring[] = [];
  const start = async (): Promise<ThreadedScoring> => {
    const scoring = await startThreadedScoring({ db });
    started.push(scoring);
    return scoring;
  };

  beforeAll(async () => {
    db = await open();
    vehicleId = await seedAcmeVehicle(db, 'Etios', 'pi-1');
    const bus = createInProcessBus();
    bus.subscribe((e) => relayed.push(e));
    relay = await startOutboxRelay({ db, sinks: [liveBusSink(bus)], listen: listenerFor(db, testDatabaseUrl(db)) });
  });
  afterAll(async () => {
    for (const scoring of started) await scoring.close();
    await relay?.stop();
    await db?.close();
  });

  it('scores committed readings on the thread and stores its alerts, announced, through this thread', async () => {
    const scoring = await start();
    expect(scoring.modelVersion()).toBe('health-checks');
    const handler = createIngestHandler({ db, bus: createInProcessBus(), scoring });
    for (const m of overheatingDrive('pi-1', Date.now() - 10 * 60_000)) await handler.handle([m]);
    await handler.scored();
    expect(handler.stats().scoring).toMatchObject({ scoredRows: 4 * 360, pendingRows: 0, droppedRows: 0, alerts: 1 });
    const { rows } = await db.query<{ kind: string; title: string; model_version: string }>(
      'SELECT kind, title, model_version FROM alerts WHERE vehicle_id = $1',
      [vehicleId],
    );
    expect(rows).toEqual([
      { kind: 'cooling', title: 'Engine overheating — stop safely', model_version: 'health-checks' },
    ]);
    await expect
      .poll(() => relayed.filter((e) => e.type === 'alert' && e.vehicleId === vehicleId).length, { timeout: 5000 })
      .toBe(1);
    // What the vehicle taught the scorer is written when scoring is idle: the next thread starts from it.
    expect(handler.stats().scoring!.normalsSaved).toBe(1);
    const saved = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM vehicle_normals WHERE vehicle_id = $1',
      [vehicleId],
    );
    expect(saved.rows[0]!.n).toBe(1);
  });

  it("starts a vehicle from its stored normal on a new thread, and counts a stopped thread's readings as not scored", async () => {
    const scoring = await start();
    const handler = createIngestHandler({ db, bus: createInProcessBus(), scoring });
    await handler.handle([message('pi-1', idlingMinute(200, Date.now() - 3 * 60_000, 88))]);
    await handler.scored();
    expect(handler.stats().scoring).toMatchObject({ scoredRows: 360, normalsLoaded: 1, droppedRows: 0 });
    await scoring.close();
    // After close nothing more is taken: stored, counted as not scored, never left pending.
    await handler.handle([message('pi-1', idlingMinute(201, Date.now() - 2 * 60_000, 88))]);
    await handler.scored();
    expect(handler.stats().scoring).toMatchObject({ scoredRows: 360, pendingRows: 0, droppedRows: 360 });
    expect(await db.query('SELECT 1 FROM samples WHERE vehicle_id = $1', [vehicleId]).then((r) => r.rows.length)).toBe(
      6 * 360,
    );
  });
});
