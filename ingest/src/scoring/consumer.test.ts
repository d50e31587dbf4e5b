import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import type { Alert, OnlineScorer } from '@clutch/ml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SampleRow } from '../processors/normalise.js';
import { createScoringConsumer, type ScorerSlot } from './consumer.js';

/** A scorer that records what it was given, and raises an alert when a reading's value is 999. */
function recordingScorer(): OnlineScorer & { seen: { vehicleId: string; values: number[] }[] } {
  const seen: { vehicleId: string; values: number[] }[] = [];
  return {
    seen,
    push(vehicleId, readings) {
      seen.push({ vehicleId, values: readings.map((r) => r.value) });
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
    },
    pushFrames: () => [],
    vehicles: () => 0,
  };
}

const implementations = testDatabases(inject('pgAdminUrl'), 'ingest_scoring');

describe.each(implementations)('scoring consumer on %s', (_name, open) => {
  let db: Database;
  let vehicleId: string;
  const at = Date.now() - 60_000;
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
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Etios') RETURNING id`,
    );
    vehicleId = rows[0]!.id;
  });
  afterAll(async () => {
    await db?.close();
  });

  it('scores what is offered after offer() returned, in order, a slice at a time, and stores the alerts it raises with their outbox events', async () => {
    const scorer = recordingScorer();
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
      push: () => {
        throw new Error('model file truncated');
      },
      pushFrames: () => [],
      vehicles: () => 0,
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
});
