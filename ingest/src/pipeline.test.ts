import { createInProcessBus, signalCatalogue, type LiveEvent, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { refuseCommits, testDatabases, testDatabaseUrl } from '@clutch/db/testing';
import { listenerFor, liveBusSink, startOutboxRelay, type OutboxRelay } from '@clutch/jobs';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createOnlineScorer } from '@clutch/ml';
import { createIngestHandler, isDatabaseUnavailable, type IngestHandler } from './pipeline.js';
import { sweepExpiredCommands } from './processors/command-expiry.js';
import { createDeviceProgressBuffer } from './processors/device-progress.js';
import { createRollupPartials, type RollupPartials } from './rollups/partials.js';
import { refreshRollups } from './rollups/refresh.js';
import { markRollupsDirty } from './rollups/marks.js';
import type { QueuedMessage } from './queue/work-queue.js';
import { seedAcmeVehicle } from './test-fleet.js';

const TOPIC = 'clutch/v1/acme/pi-1/telemetry';
const t0 = Date.now() - 60_000;

function message(payload: unknown, topic = TOPIC): QueuedMessage {
  return {
    topic,
    payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    receivedAt: Date.now(),
  };
}

/** A telemetry batch; its t0 is one second per seq after the file's t0 unless given. */
function batch(seq: number, samples: TelemetryBatch['samples'], at = t0 + seq * 1000): TelemetryBatch {
  return { v: 1, seq, t0: at, samples };
}

/** A batch of engine.rpm readings, each [ms after `at`, rpm]. */
function rpmBatch(seq: number, at: number, ...readings: [number, number][]): QueuedMessage {
  return message(
    batch(
      seq,
      readings.map(([dt, rpm]): TelemetryBatch['samples'][number] => [dt, 'engine.rpm', rpm]),
      at,
    ),
  );
}

/** A minute of idling at 1 Hz; the coolant and module voltage of each second are the caller's. */
function idlingMinute(at: (second: number) => { coolant: number; voltage: number }): TelemetryBatch['samples'] {
  const samples: TelemetryBatch['samples'] = [];
  for (let s = 0; s < 60; s++) {
    const { coolant, voltage } = at(s);
    samples.push(
      [s * 1000, 'engine.rpm', 750 + (s % 7)],
      [s * 1000, 'vehicle.speed', 0],
      [s * 1000, 'engine.coolant_temp', coolant],
      [s * 1000, 'ecu.control_module_voltage', voltage],
      [s * 1000, 'fuel.trim.short_term_b1', (s % 5) - 2],
      [s * 1000, 'fuel.trim.long_term_b1', -1],
    );
  }
  return samples;
}

const implementations = testDatabases(inject('pgAdminUrl'), 'ingest');

describe.each(implementations)('ingest chain on %s', (_name, open) => {
  let db: Database;
  let handler: IngestHandler;
  let events: LiveEvent[];
  let vehicleId: string;
  /** What the outbox relay delivered: the events ingest appended in its transactions, once committed. */
  const relayed: LiveEvent[] = [];
  let relay: OutboxRelay | undefined;

  beforeAll(async () => {
    db = await open();
    vehicleId = await seedAcmeVehicle(db, 'Etios', 'pi-1');
    const relayBus = createInProcessBus();
    relayBus.subscribe((e) => relayed.push(e));
    relay = await startOutboxRelay({
      db,
      sinks: [liveBusSink(relayBus)],
      listen: listenerFor(db, testDatabaseUrl(db)),
    });
  });
  afterAll(async () => {
    await relay?.stop();
    await db?.close();
  });
  beforeEach(async () => {
    for (const table of [
      'samples',
      'dead_letters',
      'sample_rollups_1m',
      'rollup_dirty',
      'locations',
      'dtc_events',
      'dtc_reports',
      'alerts',
      'data_quality_events',
    ]) {
      await db.query(`DELETE FROM ${table}`);
    }
    const bus = createInProcessBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    handler = createIngestHandler({ db, bus });
  });

  /** A handler that scores what it stores (the health checks), and the events it announced. */
  const scoringHandler = (): { scoring: IngestHandler; seen: LiveEvent[] } => {
    const bus = createInProcessBus();
    const seen: LiveEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    return {
      scoring: createIngestHandler({ db, bus, scorer: { scorer: createOnlineScorer(), modelVersion: 'rules' } }),
      seen,
    };
  };

  /** The rollup rows (sample_rollups_1m) of the vehicle's minute starting at `minute`, by signal. */
  const minuteRollup = async (minute: number, columns = 'n, sum'): Promise<unknown[]> =>
    (
      await db.query(
        `SELECT ${columns} FROM sample_rollups_1m WHERE vehicle_id = $1 AND bucket = $2 ORDER BY signal_id`,
        [vehicleId, new Date(minute).toISOString()],
      )
    ).rows;
  /** A handler that keeps the minute sums of what it stores in memory, as `worker` (rollups/partials.ts). */
  const summingHandler = (worker: string): { partials: RollupPartials; summing: IngestHandler } => {
    const partials = createRollupPartials({ worker });
    return { partials, summing: createIngestHandler({ db, bus: createInProcessBus(), rollupPartials: partials }) };
  };

  const countSamples = async (): Promise<number> =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM samples')).rows[0]!.n;
  const deadLetters = async (): Promise<{ topic: string; reason: string }[]> =>
    (await db.query<{ topic: string; reason: string }>('SELECT topic, reason FROM dead_letters ORDER BY id')).rows;

  it('stores every sample of a valid batch with its clock-corrected time and announces the readings', async () => {
    await handler.handle([
      message({
        ...batch(1, [
          [0, 'engine.rpm', 812.5],
          [250, 'vehicle.speed', 42],
        ]),
        clockOffsetMs: 2000,
      }),
    ]);
    const { rows } = await db.query<{ time: Date | string; key: string; value: number }>(
      `SELECT s.time, g.key, s.value FROM samples s JOIN signals g ON g.id = s.signal_id ORDER BY s.time`,
    );
    expect(rows.map((r) => [new Date(r.time).getTime(), r.key, r.value])).toEqual([
      [t0 + 1000 + 2000, 'engine.rpm', 812.5],
      [t0 + 1000 + 2250, 'vehicle.speed', 42],
    ]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'readings',
        vehicleId,
        readings: [
          expect.objectContaining({ signal: 'engine.rpm', value: 812.5 }),
          expect.objectContaining({ signal: 'vehicle.speed', value: 42 }),
        ],
      }),
    ]);
    const device = await db.query<{ last_seq: string | number }>(`SELECT last_seq FROM devices WHERE id = 'pi-1'`);
    expect(Number(device.rows[0]!.last_seq)).toBe(1);
  });

  it('stores a redelivered batch once', async () => {
    const b = message(
      batch(2, [
        [0, 'engine.rpm', 900],
        [500, 'engine.rpm', 950],
      ]),
    );
    await handler.handle([b]);
    await handler.handle([b, b]);
    expect(await countSamples()).toBe(2);
    expect(handler.stats().samplesStored).toBe(2);
  });

  it('dead-letters malformed payloads with the reason and still stores the good batch beside them', async () => {
    await handler.handle([
      message('{"v":1,"seq":'),
      message({ v: 1, seq: 3, t0, samples: [[0, 'engine.warp_factor', 9]] }),
      message(batch(4, [[0, 'engine.rpm', 1000]])),
      message(batch(5, [[0, 'engine.rpm', 1000]]), 'clutch/v1/acme/unknown-device/telemetry'),
      message('x', 'not/ours'),
      { topic: TOPIC, payload: Buffer.from([0xff, 0x00, 0x7b, 0x5c]), receivedAt: Date.now() },
    ]);
    expect(await countSamples()).toBe(1);
    const letters = await deadLetters();
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringContaining('not valid JSON'),
      expect.stringContaining('unknown signal key "engine.warp_factor"'),
      'device acme/unknown-device is not provisioned',
      expect.stringContaining('not a Clutch topic'),
      expect.stringContaining('not valid JSON'),
    ]);
    // Kept byte for byte, whatever the bytes, so a replay sends exactly what the device sent.
    const payloads = (await db.query<{ payload: Uint8Array }>('SELECT payload FROM dead_letters ORDER BY id')).rows.map(
      (r) => Buffer.from(r.payload),
    );
    expect(payloads[0]!.toString()).toBe('{"v":1,"seq":');
    expect(payloads[4]).toEqual(Buffer.from([0xff, 0x00, 0x7b, 0x5c]));
  });

  it('refuses only the implausible samples of a batch and keeps the raw values in the dead letter', async () => {
    await handler.handle([
      message(
        batch(6, [
          [0, 'engine.coolant_temp', 90],
          [10, 'engine.coolant_temp', 400],
        ]),
      ),
    ]);
    expect(await countSamples()).toBe(1);
    const [letter] = await deadLetters();
    expect(letter!.reason).toContain('engine.coolant_temp = 400 is outside -40..215 °C');
    const payload = await db.query<{ payload: Uint8Array }>('SELECT payload FROM dead_letters');
    expect(JSON.parse(Buffer.from(payload.rows[0]!.payload).toString())).toMatchObject({
      seq: 6,
      samples: [[10, 'engine.coolant_temp', 400]],
    });
  });

  it('records presence from the retained status and the Last Will, and announces the change', async () => {
    await handler.handle([message({ v: 1, state: 'online' }, 'clutch/v1/acme/pi-1/status')]);
    const presence = async (): Promise<boolean> =>
      (await db.query<{ online: boolean }>(`SELECT online FROM devices WHERE id = 'pi-1'`)).rows[0]!.online;
    expect(await presence()).toBe(true);
    await handler.handle([message({ v: 1, state: 'offline' }, 'clutch/v1/acme/pi-1/status')]);
    expect(await presence()).toBe(false);
    expect(events.filter((e) => e.type === 'presence').map((e) => e.type === 'presence' && e.online)).toEqual([
      true,
      false,
    ]);
  });

  it('rolls stored samples up by minute and hour, counting a redelivered or late sample once', async () => {
    const minute = Math.floor(t0 / 60_000) * 60_000 - 5 * 60_000;
    const b = rpmBatch(50, minute, [0, 800], [1000, 1200], [2000, 1000]);
    await handler.handle([b]);
    await handler.handle([b]);
    expect(await refreshRollups(db, { graceMs: 0 })).toBe(1);
    const rollup = (): Promise<unknown[]> => minuteRollup(minute, 'n, sum, min, max');
    expect(await rollup()).toEqual([{ n: 3, sum: 3000, min: 800, max: 1200 }]);
    // A late sample for the same minute arrives after the refresh: the minute is recomputed, not added to.
    await handler.handle([rpmBatch(51, minute + 30_000, [0, 400])]);
    await handler.handle([b]);
    await refreshRollups(db, { graceMs: 0 });
    expect(await rollup()).toEqual([{ n: 4, sum: 3400, min: 400, max: 1200 }]);
    const hour = await db.query<{ n: number }>(`SELECT sum(n)::int AS n FROM sample_rollups_1h WHERE vehicle_id = $1`, [
      vehicleId,
    ]);
    expect(hour.rows[0]!.n).toBe(4);
    expect(await refreshRollups(db, { graceMs: 0 })).toBe(0);
  });

  it('with minute sums in memory, writes each closed minute once from them, counting redelivery once and leaving nothing to recompute', async () => {
    const { partials, summing } = summingHandler('w-1');
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const b = batch(
      60,
      [
        [0, 'engine.rpm', 800],
        [1000, 'engine.rpm', 1200],
        [2000, 'vehicle.speed', 30],
      ],
      minute,
    );
    await summing.handle([message(b)]);
    await summing.handle([message(b)]);
    await summing.handle([message(batch(61, [[0, 'engine.rpm', 1000]], minute + 20_000))]);
    expect(partials.size()).toBe(1);
    expect(await partials.flush(db, { now: minute + 10 * 60_000 })).toBe(1);
    const rpm = signalCatalogue.find((x) => x.key === 'engine.rpm')!.id;
    const speed = signalCatalogue.find((x) => x.key === 'vehicle.speed')!.id;
    expect(await minuteRollup(minute, 'signal_id, n, sum, min, max')).toEqual(
      [
        { signal_id: rpm, n: 3, sum: 3000, min: 800, max: 1200 },
        { signal_id: speed, n: 1, sum: 30, min: 30, max: 30 },
      ].sort((x, y) => x.signal_id - y.signal_id),
    );
    expect((await db.query('SELECT 1 FROM rollup_dirty')).rows).toHaveLength(0);
    expect(await refreshRollups(db, { graceMs: 0, orphanAfterMs: 0 })).toBe(0);
  });

  it('recomputes the minutes of a worker that died before writing its sums, and a late flush of those sums adds nothing', async () => {
    const { partials: dead, summing } = summingHandler('w-dead');
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    await summing.handle([rpmBatch(70, minute, [0, 700], [1000, 900])]);
    const rollup = (): Promise<unknown[]> => minuteRollup(minute);
    // A live worker's mark is left alone until it is old enough to be an orphan.
    expect(await refreshRollups(db, { graceMs: 0 })).toBe(0);
    expect(await refreshRollups(db, { graceMs: 0, orphanAfterMs: 0 })).toBe(1);
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
    // The "dead" worker was only slow: its flush finds its mark gone and drops its sums.
    await dead.flush(db, { now: minute + 10 * 60_000 });
    expect(await rollup()).toEqual([{ n: 2, sum: 1600 }]);
  });

  it('sums a store-and-forward backlog in memory too, leaving nothing to recompute', async () => {
    const { partials, summing } = summingHandler('w-2');
    const old = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
    await summing.handle([rpmBatch(80, old, [0, 650], [500, 750])]);
    expect(await partials.flush(db)).toBe(1);
    expect(await minuteRollup(old)).toEqual([{ n: 2, sum: 1400 }]);
    expect(await refreshRollups(db, { graceMs: 0, orphanAfterMs: 0 })).toBe(0);
  });

  it.skipIf(_name === 'PGlite')(
    'makes a recompute wait for an ingest transaction still adding to the minute, and count its samples',
    async () => {
      // PGlite has one connection, so two transactions cannot overlap there.
      const minute = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
      const rpm = signalCatalogue.find((x) => x.key === 'engine.rpm')!.id;
      await db.query(`INSERT INTO rollup_dirty (vehicle_id, minute, worker) VALUES ($1, $2, 'w-gone')`, [
        vehicleId,
        new Date(minute).toISOString(),
      ]);
      let commitInFlight!: () => void;
      const inFlight = db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ($1, 'acme', $2, $3, 990)`,
          [new Date(minute + 1000).toISOString(), vehicleId, rpm],
        );
        await markRollupsDirty(
          tx,
          [{ timeMs: minute + 1000, timeIso: '', tenantId: 'acme', vehicleId, signalId: rpm, value: 990 }],
          'w-gone',
        );
        await new Promise<void>((resolve) => (commitInFlight = resolve));
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      let refreshed = false;
      const refresh = refreshRollups(db, { graceMs: 0, orphanAfterMs: 0 }).then((n) => ((refreshed = true), n));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(refreshed).toBe(false); // waiting on the in-flight transaction's mark
      commitInFlight();
      await inFlight;
      expect(await refresh).toBe(1);
      expect(await minuteRollup(minute)).toEqual([{ n: 1, sum: 990 }]);
    },
  );

  it('stores GPS fixes and trouble-code reports once each and announces them', async () => {
    const fix = { v: 1, t: t0, lat: -8.05, lon: -34.95, speedKmh: 42.5 };
    const dtc = {
      v: 1,
      t: t0,
      codes: [
        { code: 'P0301', kind: 'stored' },
        { code: 'P0420', kind: 'pending' },
      ],
    };
    await handler.handle([message(fix, 'clutch/v1/acme/pi-1/location'), message(dtc, 'clutch/v1/acme/pi-1/dtc')]);
    await handler.handle([message(fix, 'clutch/v1/acme/pi-1/location'), message(dtc, 'clutch/v1/acme/pi-1/dtc')]);
    const fixes = await db.query<{ lat: number; lon: number; speed_kmh: number }>(
      'SELECT lat, lon, speed_kmh FROM locations WHERE vehicle_id = $1',
      [vehicleId],
    );
    expect(fixes.rows).toEqual([{ lat: -8.05, lon: -34.95, speed_kmh: 42.5 }]);
    const codes = await db.query<{ code: string; kind: string }>(
      'SELECT code, kind FROM dtc_events WHERE vehicle_id = $1 ORDER BY code',
      [vehicleId],
    );
    expect(codes.rows).toEqual([
      { code: 'P0301', kind: 'stored' },
      { code: 'P0420', kind: 'pending' },
    ]);
    // Locations go on the bus after each commit; the report through the outbox, once: the second
    // delivery stored nothing new and announces nothing.
    expect(events.map((e) => e.type)).toEqual(['location', 'location']);
    await expect
      .poll(() => relayed.filter((e) => e.type === 'dtc' && e.vehicleId === vehicleId), { timeout: 5000 })
      .toEqual([
        {
          type: 'dtc',
          tenantId: 'acme',
          vehicleId,
          at: new Date(t0).toISOString(),
          codes: [
            { code: 'P0301', kind: 'stored' },
            { code: 'P0420', kind: 'pending' },
          ],
        },
      ]);
    const announced = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox_events WHERE topic = 'vehicle.dtc' AND payload->>'vehicleId' = $1 AND payload->>'at' = $2`,
      [vehicleId, new Date(t0).toISOString()],
    );
    expect(announced.rows[0]!.n).toBe(1);
    // A later report without codes is kept too: it is how the car says the codes are gone.
    await handler.handle([message({ v: 1, t: t0 + 60_000, codes: [] }, 'clutch/v1/acme/pi-1/dtc')]);
    const reports = await db.query<{ code_count: number }>(
      'SELECT code_count FROM dtc_reports WHERE vehicle_id = $1 ORDER BY time',
      [vehicleId],
    );
    expect(reports.rows).toEqual([{ code_count: 2 }, { code_count: 0 }]);
  });

  const insertCommand = async (status: 'pending' | 'sent', expires: string): Promise<string> =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, status, expires_at) VALUES ('acme', 'pi-1', $1, 'read_dtcs', $2, now() + $3::interval) RETURNING id`,
        [vehicleId, status, expires],
      )
    ).rows[0]!.id;
  const commandEvent = (commandId: string, status: string): LiveEvent => ({
    type: 'command',
    tenantId: 'acme',
    vehicleId,
    commandId,
    status,
  });
  const relayedFor = (commandId: string): LiveEvent[] =>
    relayed.filter((e) => e.type === 'command' && e.commandId === commandId);
  const commandStatus = async (id: string): Promise<{ status: string; result: unknown }[]> =>
    (
      await db.query<{ status: string; result: unknown }>('SELECT status, result FROM device_commands WHERE id = $1', [
        id,
      ])
    ).rows;
  const answer = (id: string, ok = true): QueuedMessage =>
    message({ v: 1, id, ok, result: { codes: [] } }, `clutch/v1/acme/pi-1/cmd/${id}/result`);

  it("completes a pending command with the agent result, announced once it committed, and ignores an answer to another device's command", async () => {
    const id = await insertCommand('pending', '1 minute');
    await handler.handle([answer(id)]);
    expect(await commandStatus(id)).toEqual([{ status: 'succeeded', result: { codes: [] } }]);
    await expect.poll(() => relayedFor(id), { timeout: 5000 }).toEqual([commandEvent(id, 'succeeded')]);
    expect(events.filter((e) => e.type === 'command')).toEqual([]); // through the outbox, not the direct bus
    await handler.handle([message({ v: 1, id: 'other', ok: true }, `clutch/v1/acme/pi-1/cmd/${id}/result`)]);
    expect((await deadLetters()).map((l) => l.reason)).toEqual([
      expect.stringContaining('does not match topic command id'),
    ]);
  });

  it('an answer whose completion does not commit is dead-lettered and announces nothing', async () => {
    const doomed = await insertCommand('sent', '1 minute');
    await refuseCommits(db, 'device_commands', `NEW.id = '${doomed}' AND NEW.status <> 'sent'`);
    await handler.handle([answer(doomed, false)]);
    expect(await commandStatus(doomed)).toEqual([{ status: 'sent', result: null }]);
    expect((await deadLetters()).map((l) => l.reason)).toEqual([
      expect.stringMatching(/^refused by the database: .*commit refused by the test/),
    ]);
    // An answer that commits is delivered after it (the relay keeps commit order).
    const fine = await insertCommand('sent', '1 minute');
    await handler.handle([answer(fine, false)]);
    await expect.poll(() => relayedFor(fine), { timeout: 5000 }).toEqual([commandEvent(fine, 'failed')]);
    expect(relayedFor(doomed)).toEqual([]);
    await db.query('DELETE FROM device_commands WHERE id = $1', [doomed]);
  });

  it("an answer after the command's deadline leaves it to time out: no completion, no event, no dead letter; the sweep announces the timeout", async () => {
    const id = await insertCommand('sent', '-1 second');
    await handler.handle([answer(id)]);
    expect(await deadLetters()).toEqual([]);
    expect(await sweepExpiredCommands(db)).toBe(1);
    await expect.poll(() => relayedFor(id), { timeout: 5000 }).toEqual([commandEvent(id, 'timed_out')]);
    await handler.handle([answer(id)]);
    expect(await commandStatus(id)).toEqual([{ status: 'timed_out', result: null }]);
    expect(await sweepExpiredCommands(db)).toBe(0);
    // Nothing but the timeout was announced for it, and only once.
    const marker = await insertCommand('sent', '-1 second');
    expect(await sweepExpiredCommands(db)).toBe(1);
    await expect.poll(() => relayedFor(marker), { timeout: 5000 }).toHaveLength(1);
    expect(relayedFor(id)).toEqual([commandEvent(id, 'timed_out')]);
  });

  it('a sweep that does not commit times nothing out and announces nothing', async () => {
    const doomed = await insertCommand('sent', '-1 second');
    await refuseCommits(db, 'device_commands', `NEW.id = '${doomed}' AND NEW.status = 'timed_out'`);
    await expect(sweepExpiredCommands(db)).rejects.toThrow(/commit refused by the test/);
    expect(await commandStatus(doomed)).toEqual([{ status: 'sent', result: null }]);
    await db.query('DELETE FROM device_commands WHERE id = $1', [doomed]);
    const fine = await insertCommand('sent', '-1 second');
    expect(await sweepExpiredCommands(db)).toBe(1);
    await expect.poll(() => relayedFor(fine), { timeout: 5000 }).toEqual([commandEvent(fine, 'timed_out')]);
    expect(relayedFor(doomed)).toEqual([]);
  });

  it('stores a large batch (COPY path on PostgreSQL) exactly once and in full', async () => {
    const samples: TelemetryBatch['samples'] = [];
    for (let i = 0; i < 1500; i++)
      samples.push([i * 10, 'engine.rpm', 700 + (i % 100)], [i * 10, 'vehicle.speed', i % 120]);
    const big = message({ v: 1, seq: 900, t0, samples });
    await handler.handle([big]);
    await handler.handle([big]);
    expect(await countSamples()).toBe(3000);
    await refreshRollups(db, { graceMs: -3_600_000 });
    const n = await db.query<{ n: number }>(
      `SELECT sum(n)::int AS n FROM sample_rollups_1m WHERE vehicle_id = $1 AND signal_id = 2`,
      [vehicleId],
    );
    expect(n.rows[0]!.n).toBe(1500);
  });

  it('scores stored readings in real time and stores one explained alert per condition, announcing it', async () => {
    const { scoring, seen } = scoringHandler();
    const start = Date.now() - 10 * 60_000;
    // Four minutes of idling: two normal, then the coolant climbs to 126 °C (past the universal limit a new car is held to).
    for (let minute = 0; minute < 4; minute++) {
      const samples = idlingMinute((s) => ({
        coolant: (minute < 2 ? 88 : 125) + (s % 2),
        voltage: 13.9 + (s % 3) * 0.01,
      }));
      await scoring.handle([message({ v: 1, seq: 2000 + minute, t0: start + minute * 60_000, samples })]);
    }
    // Scoring is its own consumer: a batch is acknowledged once stored (the last one's readings are
    // still waiting for scoring here), and scored just after.
    expect(scoring.stats().scoring!.pendingRows).toBeGreaterThanOrEqual(360);
    await scoring.scored();
    expect(scoring.stats().scoring).toMatchObject({ pendingRows: 0, scoredRows: 4 * 360, droppedRows: 0 });
    const { rows } = await db.query<{
      kind: string;
      severity: string;
      title: string;
      explanation: string;
      signals: string[];
    }>('SELECT kind, severity, title, explanation, signals FROM alerts WHERE vehicle_id = $1', [vehicleId]);
    expect(rows).toEqual([
      expect.objectContaining({
        kind: 'cooling',
        severity: 'critical',
        title: 'Engine overheating — stop safely',
        signals: ['engine.coolant_temp'],
      }),
    ]);
    expect(rows[0]!.explanation).toMatch(/Coolant reads 12\d °C.*Check: coolant level/);
    // Announced through the outbox in the alert's own transaction, not on the bus directly.
    await expect
      .poll(() => relayed.filter((e) => e.type === 'alert' && e.vehicleId === vehicleId), { timeout: 5000 })
      .toEqual([expect.objectContaining({ vehicleId, alert: expect.objectContaining({ kind: 'cooling' }) })]);
    expect(seen.filter((e) => e.type === 'alert')).toEqual([]);
    expect(scoring.stats().alerts).toBe(1);
  });

  it('stores several alerts raised by one batch, each announced with its stored id', async () => {
    const { scoring } = scoringHandler();
    const start = Date.now() - 20 * 60_000;
    // Four minutes in one delivery: two normal, then overheating while the alternator stops charging.
    const messages = Array.from({ length: 4 }, (_, minute) => {
      const failing = minute >= 2;
      const samples = idlingMinute((s) => ({ coolant: failing ? 125 + (s % 2) : 88, voltage: failing ? 11.5 : 13.9 }));
      return message({ v: 1, seq: 3000 + minute, t0: start + minute * 60_000, samples });
    });
    await scoring.handle(messages);
    await scoring.scored();
    const { rows } = await db.query<{ id: string; kind: string; signals: string[] }>(
      'SELECT id::text, kind, signals FROM alerts WHERE vehicle_id = $1 ORDER BY id',
      [vehicleId],
    );
    expect(rows.map((r) => r.kind).sort()).toEqual(['battery', 'cooling']);
    expect(rows.find((r) => r.kind === 'battery')!.signals).toEqual(['ecu.control_module_voltage', 'engine.rpm']);
    const ids = new Set(rows.map((r) => r.id));
    const announced = (): { id: string; kind: string }[] =>
      relayed
        .flatMap((e) => (e.type === 'alert' && ids.has(e.alert.id) ? [{ id: e.alert.id, kind: e.alert.kind }] : []))
        .sort((a, b) => a.kind.localeCompare(b.kind));
    await expect
      .poll(announced, { timeout: 5000 })
      .toEqual(rows.map((r) => ({ id: r.id, kind: r.kind })).sort((a, b) => a.kind.localeCompare(b.kind)));
    expect(scoring.stats().alerts).toBe(2);
  });

  it('stores out-of-order, late and duplicate-seq batches once each, readable in time order', async () => {
    await db.query(`UPDATE devices SET last_seq = NULL WHERE id = 'pi-1'`);
    // seq 12 arrives first, then the older seq 10 (late, after hours offline), then seq 12 again.
    await handler.handle([message(batch(12, [[0, 'engine.rpm', 1200]]))]);
    await handler.handle([
      message(
        batch(10, [
          [0, 'engine.rpm', 1000],
          [500, 'engine.rpm', 1050],
        ]),
      ),
    ]);
    await handler.handle([message(batch(12, [[0, 'engine.rpm', 1200]]))]);
    const { rows } = await db.query<{ value: number }>(
      'SELECT value FROM samples WHERE vehicle_id = $1 AND signal_id = 2 ORDER BY time',
      [vehicleId],
    );
    expect(rows.map((r) => r.value)).toEqual([1000, 1050, 1200]);
    const device = await db.query<{ last_seq: string | number }>(`SELECT last_seq FROM devices WHERE id = 'pi-1'`);
    expect(Number(device.rows[0]!.last_seq)).toBe(12); // a late batch never moves the newest seq back
  });

  it('with a progress buffer, writes the newest seq and contact time of a device once per flush, and keeps them when a flush fails', async () => {
    await db.query(`UPDATE devices SET last_seq = NULL, last_seen_at = NULL WHERE id = 'pi-1'`);
    const progress = createDeviceProgressBuffer();
    const buffered = createIngestHandler({ db, bus: createInProcessBus(), deviceProgress: progress });
    const readDevice = async (): Promise<{ seq: number | null; seen: number | null }> => {
      const { rows } = await db.query<{ last_seq: string | null; last_seen_at: Date | string | null }>(
        `SELECT last_seq, last_seen_at FROM devices WHERE id = 'pi-1'`,
      );
      return {
        seq: rows[0]!.last_seq === null ? null : Number(rows[0]!.last_seq),
        seen: rows[0]!.last_seen_at === null ? null : new Date(rows[0]!.last_seen_at).getTime(),
      };
    };
    const newest = Date.now() + 5000; // later than every other message's receive time
    await buffered.handle([message(batch(21, [[0, 'engine.rpm', 900]]))]);
    await buffered.handle([
      { ...message(batch(23, [[0, 'engine.rpm', 950]])), receivedAt: newest },
      message(batch(22, [[0, 'engine.rpm', 920]])),
    ]);
    expect(await countSamples()).toBe(3); // samples are never held back
    expect(await readDevice()).toEqual({ seq: null, seen: null });

    expect(await progress.flush(db)).toBe(1); // three batches, one row written
    expect(await readDevice()).toEqual({ seq: 23, seen: newest });

    // A flush that cannot write keeps the progress for the next one.
    await buffered.handle([message(batch(24, [[0, 'engine.rpm', 960]]))]);
    const closed = await open({ migrate: false });
    await closed.close();
    await expect(progress.flush(closed)).rejects.toThrow();
    expect(progress.size()).toBe(1);
    expect(await progress.flush(db)).toBe(1);
    expect((await readDevice()).seq).toBe(24);
  });
  const qualityEvents = async (): Promise<
    { kind: string; device_id: string; vehicle_id: string; detail: Record<string, unknown> }[]
  > =>
    (
      await db.query<{ kind: string; device_id: string; vehicle_id: string; detail: Record<string, unknown> }>(
        'SELECT kind, device_id, vehicle_id, detail FROM data_quality_events ORDER BY id',
      )
    ).rows;
  const storedValues = async (): Promise<number[]> =>
    (await db.query<{ value: number }>('SELECT value FROM samples ORDER BY time, signal_id')).rows.map((r) => r.value);

  it('regression 12.1: a batch whose clockOffsetMs overflows Date is dead-lettered and the others are stored', async () => {
    await handler.handle([
      message(batch(100, [[0, 'engine.rpm', 801]])),
      message({ v: 1, seq: 101, t0, clockOffsetMs: 1e300, samples: [[0, 'engine.rpm', 802]] }),
      message({ v: 1, seq: 102, t0, clockOffsetMs: -1e300, samples: [[0, 'engine.rpm', 803]] }),
      message(batch(103, [[0, 'engine.rpm', 804]])),
    ]);
    expect(await storedValues()).toEqual([801, 804]);
    expect((await deadLetters()).map((l) => l.reason)).toEqual([
      expect.stringContaining('clockOffsetMs'),
      expect.stringContaining('clockOffsetMs'),
    ]);
    expect(handler.stats()).toMatchObject({ messages: 4, deadLetters: 2, lastError: null });
  });

  it('regression 12.1: a message whose processing throws is dead-lettered with the error, and the rest of its batch is stored', async () => {
    // A receive time that is no date makes the status processor throw (formatting the presence time).
    await handler.handle([
      message(batch(110, [[0, 'engine.rpm', 811]])),
      { ...message({ v: 1, state: 'online' }, 'clutch/v1/acme/pi-1/status'), receivedAt: Number.NaN },
      message(batch(111, [[0, 'engine.rpm', 812]])),
    ]);
    expect(await storedValues()).toEqual([811, 812]);
    const letters = await deadLetters();
    expect(letters).toEqual([
      {
        topic: 'clutch/v1/acme/pi-1/status',
        reason: expect.stringMatching(/^ingest failed on this status message \(RangeError: Invalid time value\)/),
      },
    ]);
    // Nothing of the failed message is half-applied: no presence change, no event for it.
    expect(events.filter((e) => e.type === 'presence')).toEqual([]);
    expect(events.filter((e) => e.type === 'readings')).toHaveLength(2);
  });

  it('regression 12.1: a message the database refuses is dead-lettered alone with the SQLSTATE, and the rest of the batch is stored', async () => {
    // 36 dashes pass the topic and the uuid-shape check, and then fail the ::uuid cast (22P02).
    const dashes = '-'.repeat(36);
    await handler.handle([
      message(batch(120, [[0, 'engine.rpm', 821]])),
      message({ v: 1, id: dashes, ok: true }, `clutch/v1/acme/pi-1/cmd/${dashes}/result`),
      message(batch(121, [[0, 'engine.rpm', 822]])),
    ]);
    expect(await storedValues()).toEqual([821, 822]);
    expect(await deadLetters()).toEqual([
      {
        topic: `clutch/v1/acme/pi-1/cmd/${dashes}/result`,
        reason: expect.stringMatching(/^refused by the database: .*uuid.*\(22P02\)$/),
      },
    ]);
  });

  it('regression 12.1: throws, so the queue retries, only when the database is unavailable', async () => {
    const closed = await open({ migrate: false });
    await closed.close();
    const unavailable = createIngestHandler({
      db: closed,
      bus: createInProcessBus(),
      resolver: {
        prefetch: async () => {},
        resolve: async () => ({ tenantId: 'acme', deviceId: 'pi-1', vehicleId }),
        forget: () => {},
      },
    });
    await expect(unavailable.handle([message(batch(130, [[0, 'engine.rpm', 831]]))])).rejects.toThrow();
    expect(unavailable.stats().lastError).not.toBeNull();
    // Connection, resource, shutdown, I/O and rollback classes are the database's state; data classes are the message's.
    const server = (code: string): Error => Object.assign(new Error(code), { code, severity: 'ERROR' });
    expect(['08006', '53300', '57P01', '58030', '40P01'].map((c) => isDatabaseUnavailable(server(c)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['22P02', '23505', '42703', '54000', 'P0001', 'XX000'].map((c) => isDatabaseUnavailable(server(c)))).toEqual(
      [false, false, false, false, false, false],
    );
    expect(
      isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new RangeError('Invalid time value'))).toBe(false);
  });

  it('regression 12.2: samples dated outside 30 days back to 5 minutes ahead of receipt are dead-lettered with their time and the window; the rest are stored', async () => {
    const now = Date.now();
    const old = now - 30 * 86_400_000 - 30 * 60_000; // dt 0 is 30 min too old, dt 59 min is inside
    const soon = now + 4 * 60_000; // dt 0 is inside, dt 2 min is 6 min ahead
    await handler.handle([
      {
        ...rpmBatch(140, old, [0, 841], [59 * 60_000, 842]),
        receivedAt: now,
      },
      {
        ...rpmBatch(141, soon, [0, 843], [120_000, 844]),
        receivedAt: now,
      },
      {
        ...message({ v: 1, seq: 142, t0: Date.UTC(2121, 0, 1), samples: [[0, 'engine.coolant_temp', 130]] }),
        receivedAt: now,
      },
      {
        ...message({
          v: 1,
          seq: 143,
          t0: now - 60_000,
          clockOffsetMs: -9 * 365 * 86_400_000,
          samples: [[0, 'engine.rpm', 845]],
        }),
        receivedAt: now,
      },
    ]);
    expect(await storedValues()).toEqual([842, 843]);
    const letters = await deadLetters();
    const window = `${new Date(now - 30 * 86_400_000).toISOString()}..${new Date(now + 5 * 60_000).toISOString()}`;
    expect(letters.map((l) => l.reason)).toEqual([
      `1 sample(s) refused: sample 0 (engine.rpm, t0 + 0 ms + offset 0 ms) is dated ${new Date(old).toISOString()}, before the accepted window ${window} (server clock at receipt)`,
      `1 sample(s) refused: sample 1 (engine.rpm, t0 + 120000 ms + offset 0 ms) is dated ${new Date(soon + 120_000).toISOString()}, after the accepted window ${window} (server clock at receipt)`,
      expect.stringMatching(
        /^1 sample\(s\) refused: sample 0 \(engine\.coolant_temp.*\) is dated 2121-01-01T00:00:00\.000Z, after the accepted window/,
      ),
      expect.stringMatching(
        /^1 sample\(s\) refused: sample 0 \(engine\.rpm, t0 \+ 0 ms \+ offset -283824000000 ms\) is dated .*, before the accepted window/,
      ),
    ]);
    // The refused samples are kept as a batch of their own (t0 and offset included), so a replay places them where they were.
    const payloads = (await db.query<{ payload: Uint8Array }>('SELECT payload FROM dead_letters ORDER BY id')).rows.map(
      (r) => JSON.parse(Buffer.from(r.payload).toString()) as unknown,
    );
    expect(payloads[0]).toEqual({ v: 1, seq: 140, t0: old, samples: [[0, 'engine.rpm', 841]] });
  });

  it('regression 12.2: a single sample dated 2121 never becomes the newest reading of the vehicle', async () => {
    await handler.handle([
      message(batch(150, [[0, 'engine.coolant_temp', 90]])),
      message({ v: 1, seq: 151, t0: Date.UTC(2121, 0, 1), samples: [[0, 'engine.coolant_temp', 125]] }),
    ]);
    const newest = await db.query<{ value: number; time: Date | string }>(
      'SELECT value, time FROM samples WHERE vehicle_id = $1 ORDER BY time DESC LIMIT 1',
      [vehicleId],
    );
    expect(newest.rows.map((r) => r.value)).toEqual([90]);
    expect(events.flatMap((e) => (e.type === 'readings' ? e.readings.map((r) => r.value) : []))).toEqual([90]);
  });

  it('regression 12.2: locations and trouble-code reports dated outside the window are dead-lettered, the ones inside stored', async () => {
    const now = Date.now();
    const at = (t: number, kind: 'location' | 'dtc'): QueuedMessage => ({
      ...message(
        kind === 'location'
          ? { v: 1, t, lat: 48.1, lon: 11.5 }
          : { v: 1, t, codes: [{ code: 'P0301', kind: 'stored' }] },
        `clutch/v1/acme/pi-1/${kind}`,
      ),
      receivedAt: now,
    });
    await handler.handle([
      at(now - 60_000, 'location'),
      at(Date.UTC(2121, 0, 1), 'location'),
      at(now - 31 * 86_400_000, 'location'),
      at(now - 60_000, 'dtc'),
      at(now + 6 * 60_000, 'dtc'),
      at(Date.UTC(2001, 0, 1), 'dtc'),
    ]);
    expect((await db.query('SELECT 1 FROM locations WHERE vehicle_id = $1', [vehicleId])).rows).toHaveLength(1);
    expect((await db.query('SELECT 1 FROM dtc_reports WHERE vehicle_id = $1', [vehicleId])).rows).toHaveLength(1);
    expect((await deadLetters()).map((l) => l.reason)).toEqual([
      expect.stringMatching(/^location fix is dated 2121-01-01T00:00:00\.000Z, after the accepted window/),
      expect.stringMatching(/^location fix is dated .*, before the accepted window/),
      expect.stringMatching(/^trouble-code report is dated .*, after the accepted window/),
      expect.stringMatching(/^trouble-code report is dated 2001-01-01T00:00:00\.000Z, before the accepted window/),
    ]);
  });

  it("regression 12.2: the time window is the handler's to configure", async () => {
    const strict = createIngestHandler({ db, bus: createInProcessBus(), timeWindow: { pastMs: 60_000, futureMs: 0 } });
    const now = Date.now();
    await strict.handle([
      {
        ...rpmBatch(160, now - 120_000, [0, 861], [90_000, 862]),
        receivedAt: now,
      },
    ]);
    expect(await storedValues()).toEqual([862]);
    expect(await deadLetters()).toHaveLength(1);
  });

  it('regression 12.8: a sample repeated with the same time but another value keeps the first value and records a conflicting_duplicate; a redelivery records nothing', async () => {
    const first = message(
      batch(170, [
        [0, 'engine.rpm', 870],
        [0, 'vehicle.speed', 40],
      ]),
    );
    await handler.handle([first]);
    await handler.handle([first]); // redelivery: exact duplicates
    expect(await qualityEvents()).toEqual([]);
    await handler.handle([
      message({
        ...batch(170, [
          [0, 'engine.rpm', 999],
          [0, 'vehicle.speed', 40],
        ]),
      }),
    ]);
    expect(await storedValues()).toEqual([870, 40]);
    expect(await qualityEvents()).toEqual([
      {
        kind: 'conflicting_duplicate',
        device_id: 'pi-1',
        vehicle_id: vehicleId,
        detail: {
          signal: 'engine.rpm',
          time: new Date(t0 + 170_000).toISOString(),
          stored: 870,
          received: 999,
          seq: 170,
        },
      },
    ]);
    expect(await deadLetters()).toEqual([]);
  });

  it('regression 12.8: a contradiction inside one batch, and one in a large (COPY) batch, are recorded too', async () => {
    // The same (signal, time) twice in one small batch: the first is stored, the second recorded.
    await handler.handle([
      message(
        batch(180, [
          [0, 'engine.rpm', 880],
          [0, 'engine.rpm', 881],
        ]),
      ),
    ]);
    expect(await storedValues()).toEqual([880]);
    // A large batch redelivered with one value changed: the COPY hits the duplicates and falls back.
    const samples: TelemetryBatch['samples'] = [];
    for (let i = 0; i < 1200; i++) samples.push([i * 10, 'vehicle.speed', i % 120]);
    await handler.handle([message({ v: 1, seq: 181, t0, samples })]);
    const changed = samples.map((s, i): TelemetryBatch['samples'][number] => (i === 700 ? [s[0], s[1], 119.5] : s));
    await handler.handle([message({ v: 1, seq: 181, t0, samples: changed })]);
    expect(await countSamples()).toBe(1201);
    expect((await qualityEvents()).map((e) => e.detail)).toEqual([
      { signal: 'engine.rpm', time: new Date(t0 + 180_000).toISOString(), stored: 880, received: 881, seq: 180 },
      {
        signal: 'vehicle.speed',
        time: new Date(t0 + 7000).toISOString(),
        stored: 700 % 120,
        received: 119.5,
        seq: 181,
      },
    ]);
  });
});
