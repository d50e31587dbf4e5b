// Property: whatever one tenant's devices send, another tenant's good data is stored, every bad
// message is set aside as a dead letter with a reason, and the handler never throws (issue 12,
// findings 1 and 2). Random hostile batches, from a seeded generator so a failure can be replayed.
import { createInProcessBus, isPlausible, signalByKey, signalById, type TelemetryBatch } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHandler, type IngestHandler } from './pipeline.js';
import { DEFAULT_TIME_WINDOW } from './processors/time-window.js';
import type { QueuedMessage } from './queue/work-queue.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20_261_203);
const CASES = 300;
const DAY = 86_400_000;

/** mulberry32, as in ml/src/dataset/rng.ts: small, seeded, reproducible. */
function createRng(seed: number): {
  next(): number;
  int(min: number, maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}
type Rng = ReturnType<typeof createRng>;

/** A number JSON cannot spell but a hostile sender can: written into the payload text as is. */
class Raw {
  constructor(readonly token: string) {}
  toJSON(): string {
    return `@@raw:${this.token}@@`;
  }
}
const encode = (value: unknown): string => JSON.stringify(value).replace(/"@@raw:([^@]*)@@"/g, '$1');

// Values that may or may not be valid where they land: applied first, so a refusal never depends on them.
const MAYBE: unknown[] = [0, new Raw('-0'), 5e-324, -5e-324, 1, -1, 0.5, 1e-300, Number.MAX_SAFE_INTEGER, 100, 2 ** 31];
// Values every numeric, string or structural field of every payload refuses.
const ALWAYS_BAD: unknown[] = [
  null,
  new Raw('1e999'),
  new Raw('-1e999'),
  1e308,
  -1e308,
  'NaN',
  '12',
  true,
  [],
  {},
  'x'.repeat(300),
  '\u0000',
];

const evilTopic = (kind: string): string => `clutch/v1/evil/e-1/${kind}`;

interface Hostile {
  message: QueuedMessage;
  note: string;
}

/** One hostile message of tenant evil: a valid payload with at least one field made bad for sure, or no payload at all. */
function hostileMessage(rng: Rng, now: number): Hostile {
  const received = (topic: string, payload: string | Buffer, note: string): Hostile => ({
    message: { topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), receivedAt: now },
    note,
  });
  const kind = rng.pick([
    'telemetry',
    'telemetry',
    'telemetry',
    'location',
    'dtc',
    'status',
    'cmd_result',
    'raw',
    'topic',
  ] as const);
  if (kind === 'raw') {
    const shapes: [string, () => string | Buffer][] = [
      ['random bytes', () => Buffer.from(Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 256)))],
      [
        'truncated JSON',
        () => encode({ v: 1, seq: 1, t0: now, samples: [[0, 'engine.rpm', 800]] }).slice(0, rng.int(0, 40)),
      ],
      ['deep nesting', () => '['.repeat(5000) + ']'.repeat(5000)],
      [
        'over the byte limit',
        () => encode({ v: 1, seq: 1, t0: now, samples: [[0, 'engine.rpm', 800]], pad: 'x'.repeat(300_000) }),
      ],
      ['empty', () => ''],
      ['JSON null', () => 'null'],
      ['invalid UTF-8', () => Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x5c])],
    ];
    const [note, make] = rng.pick(shapes);
    return received(evilTopic(rng.pick(['telemetry', 'location', 'dtc', 'status'])), make(), `raw: ${note}`);
  }
  if (kind === 'topic') {
    // 36 dashes pass every check before the database's ::uuid cast refuses them: the batch is split.
    const dashes = '-'.repeat(36);
    if (rng.chance(0.3))
      return received(
        evilTopic(`cmd/${dashes}/result`),
        encode({ v: 1, id: dashes, ok: true }),
        'command id the database refuses',
      );
    const topic = rng.pick([
      'clutch/v1/evil/no-such-device/telemetry',
      'clutch/v1/evil/e-1/cmd/abc',
      'clutch/v1/evil/e-1/telemetry/extra',
      'clutch/v2/evil/e-1/telemetry',
      'clutch/v1/ev+il/e-1/telemetry',
    ]);
    return received(
      topic,
      encode({ v: 1, seq: 1, t0: now - 1000, samples: [[0, 'engine.rpm', 800]] }),
      `topic ${topic}`,
    );
  }

  /** `bad` lists, per field, values that field refuses whatever else the payload holds. */
  const mutate = (
    target: Record<string, unknown> | unknown[],
    bad: Record<string | number, readonly unknown[]>,
  ): string => {
    const fields = Object.keys(bad);
    // Maybe-valid noise first, on any field; then the refusal, which is never overwritten.
    if (rng.chance(0.5)) (target as Record<string, unknown>)[rng.pick(fields)] = rng.pick(MAYBE);
    const field = rng.pick(fields);
    const value = rng.pick(bad[field]!);
    (target as Record<string, unknown>)[field] = value;
    return `${String(field)} = ${value instanceof Raw ? value.token : typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : JSON.stringify(value)}`;
  };

  if (kind === 'telemetry') {
    const samples: unknown[][] = Array.from({ length: rng.int(1, 20) }, (_, i) => [
      i * 100,
      rng.pick(['engine.rpm', 'vehicle.speed', 'engine.coolant_temp']),
      50,
    ]);
    const batch: Record<string, unknown> = { v: 1, seq: rng.int(0, 1000), t0: now - rng.int(1000, 3600_000), samples };
    const where = rng.pick(['batch', 'sample', 'time', 'size'] as const);
    let note: string;
    if (where === 'batch') {
      note = mutate(batch, {
        v: [...ALWAYS_BAD, 2, 0, -1],
        seq: [...ALWAYS_BAD, -1, 1.5, 1e300, -1e300],
        t0: [...ALWAYS_BAD, -1, 1.5, 1e300, Date.UTC(2200, 0, 1) + 1, 3.2e11],
        clockOffsetMs: [...ALWAYS_BAD, 1e300, -1e300, 3.2e11, -3.2e11, 2 ** 53 + 2],
        samples: [...ALWAYS_BAD, -1],
        extra: [...ALWAYS_BAD, ...MAYBE],
      });
    } else if (where === 'sample') {
      const sample = rng.pick(samples);
      const position = rng.int(0, 4);
      note =
        position === 3
          ? `sample of length ${(sample.push(1), sample.length)}`
          : `sample ${mutate(sample, {
              [position]: [
                [...ALWAYS_BAD, -1, 1e20, 3600_001, 0.5],
                [...ALWAYS_BAD, 'no.such.signal', '', '__proto__'],
                [...ALWAYS_BAD, 1e20, -1e20, 1e6],
              ][position]!,
            })}`;
    } else if (where === 'time') {
      // Valid to the schema, refused by the server's clock: far future, far past, an offset of years.
      const moves: [string, () => void][] = [
        ['t0 in 2121', () => (batch.t0 = Date.UTC(2121, 0, 1))],
        ['t0 in 2199', () => (batch.t0 = Date.UTC(2199, 11, 31))],
        ['t0 in 2001', () => (batch.t0 = Date.UTC(2001, 0, 1))],
        ['t0 40 days back', () => (batch.t0 = now - 40 * DAY)],
        ['t0 10 minutes ahead', () => (batch.t0 = now + 10 * 60_000)],
        ['offset +9 years', () => (batch.clockOffsetMs = 9 * 365 * DAY)],
        ['offset -9.9 years', () => (batch.clockOffsetMs = -9.9 * 365 * DAY)],
        ['offset +31 days', () => (batch.clockOffsetMs = 31 * DAY + 0.25)],
      ];
      const [move, apply] = rng.pick(moves);
      apply();
      note = move;
    } else {
      const over = Array.from({ length: 5001 }, (_, i) => [i % 3600, 'engine.rpm', 800]);
      batch.samples = over;
      note = '5001 samples';
    }
    return received(evilTopic('telemetry'), encode(batch), `telemetry ${note}`);
  }
  if (kind === 'location') {
    const fix: Record<string, unknown> = {
      v: 1,
      t: now - rng.int(0, 60_000),
      lat: 48.1,
      lon: 11.5,
      speedKmh: 40,
      headingDeg: 90,
      hdop: 1,
      satellites: 7,
      altM: 500,
    };
    const note = rng.chance(0.3)
      ? `t ${(fix.t = rng.pick([Date.UTC(2121, 0, 1), now - 31 * DAY, now + 6 * 60_000, Date.UTC(2001, 0, 1)]))}`
      : mutate(
          fix,
          Object.fromEntries(
            ['v', 't', 'lat', 'lon', 'speedKmh', 'headingDeg', 'hdop', 'satellites', 'altM', 'extra'].map((f) => [
              f,
              [...ALWAYS_BAD, 1e6, -1e6, 1e300],
            ]),
          ),
        );
    return received(evilTopic('location'), encode(fix), `location ${note}`);
  }
  if (kind === 'dtc') {
    const report: Record<string, unknown> = {
      v: 1,
      t: now - rng.int(0, 60_000),
      codes: [{ code: 'P0301', kind: 'stored' }],
    };
    const choice = rng.int(0, 4);
    const note =
      choice === 0
        ? `t ${(report.t = rng.pick([Date.UTC(2121, 0, 1), now - 31 * DAY, now + 6 * 60_000]))}`
        : choice === 1
          ? `${(report.codes = Array.from({ length: 256 }, () => ({ code: 'P0301', kind: 'stored' }))).length} codes`
          : choice === 2
            ? `code ${mutate((report.codes as Record<string, unknown>[])[0]!, { code: [...ALWAYS_BAD, 'X9999', 'gone'], kind: [...ALWAYS_BAD, 'X9999', 'gone'], ecu: [1, 'ABCDEFGHIJ'], extra: ALWAYS_BAD })}`
            : mutate(report, {
                v: [...ALWAYS_BAD, -1],
                t: [...ALWAYS_BAD, 1e300, -1],
                codes: [...ALWAYS_BAD, -1],
                extra: ALWAYS_BAD,
              });
    return received(evilTopic('dtc'), encode(report), `dtc ${note}`);
  }
  if (kind === 'status') {
    const status: Record<string, unknown> = { v: 1, state: 'online', t: now, agentVersion: '1.0.0' };
    const note = mutate(status, {
      v: ALWAYS_BAD,
      state: [...ALWAYS_BAD, 'maybe'],
      t: [...ALWAYS_BAD, 1e300],
      vin: [...ALWAYS_BAD, 'WRONGVIN'],
      agentVersion: [1, 'x'.repeat(65)],
      extra: ALWAYS_BAD,
    });
    return received(evilTopic('status'), encode(status), `status ${note}`);
  }
  const id = `cmd-${rng.int(0, 1e6)}`;
  const result: Record<string, unknown> = { v: 1, id, ok: true };
  const mismatched = rng.chance(0.3);
  if (mismatched) result.id = 'other-id';
  const note = mismatched
    ? 'id of another command'
    : mutate(result, {
        v: ALWAYS_BAD,
        id: [...ALWAYS_BAD, 'has space'],
        ok: ALWAYS_BAD,
        error: [...ALWAYS_BAD, { code: 'x'.repeat(65), message: 'm' }, { code: 'E' }],
        extra: ALWAYS_BAD,
      });
  return received(evilTopic(`cmd/${id}/result`), encode(result), `cmd_result ${note}`);
}

describe('hostile input from one tenant', () => {
  let db: Database;
  let handler: IngestHandler;
  let goodVehicle: string;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await db.query(`INSERT INTO tenants (id, name) VALUES ('evil', 'Evil'), ('good', 'Good')`);
    const vehicles = await db.query<{ id: string; tenant_id: string }>(
      `INSERT INTO vehicles (tenant_id, name) VALUES ('evil', 'E'), ('good', 'G') RETURNING id, tenant_id`,
    );
    const vehicleOf = (tenant: string): string => vehicles.rows.find((v) => v.tenant_id === tenant)!.id;
    goodVehicle = vehicleOf('good');
    await db.query(`INSERT INTO devices (tenant_id, id, vehicle_id) VALUES ('evil', 'e-1', $1), ('good', 'g-1', $2)`, [
      vehicleOf('evil'),
      goodVehicle,
    ]);
    handler = createIngestHandler({ db, bus: createInProcessBus() });
  });
  afterAll(async () => {
    await db?.close();
  });

  it(`regression 12.1/12.2: ${CASES} random hostile batches never stop another tenant's data (seed ${SEED})`, async () => {
    const rng = createRng(SEED);
    const start = Date.now();
    const expected = new Map<string, number>();
    const signals = ['engine.rpm', 'vehicle.speed', 'engine.coolant_temp', 'ecu.control_module_voltage'];
    let goodSeq = 0;
    let hostileCount = 0;
    let messages = 0;
    for (let c = 0; c < CASES; c++) {
      const now = start + c; // distinct receive times, one server clock
      const batchMessages: QueuedMessage[] = [];
      const notes: string[] = [];
      for (let i = rng.int(1, 4); i > 0; i--) {
        const hostile = hostileMessage(rng, now);
        batchMessages.push(hostile.message);
        notes.push(hostile.note);
      }
      for (let i = rng.int(1, 3); i > 0; i--) {
        const seq = goodSeq++;
        // Disjoint times for every good batch: 10 s apart, samples 100 ms apart, within the last few hours.
        const t0 = start - 4 * 3600_000 + seq * 10_000;
        const samples: TelemetryBatch['samples'] = Array.from({ length: rng.int(1, 40) }, (_, k) => {
          const key = signals[k % signals.length]!;
          const def = signalByKey(key)!;
          return [
            Math.floor(k / signals.length) * 100,
            key,
            Math.round((def.min + rng.next() * (def.max - def.min)) * 100) / 100,
          ];
        });
        for (const [dt, key, value] of samples) expected.set(`${signalByKey(key)!.id}@${t0 + dt}`, value);
        batchMessages.push({
          topic: 'clutch/v1/good/g-1/telemetry',
          payload: Buffer.from(JSON.stringify({ v: 1, seq, t0, samples })),
          receivedAt: now,
        });
      }
      // The queue hands messages over in arrival order; shuffle so good and bad interleave.
      for (let i = batchMessages.length - 1; i > 0; i--) {
        const j = rng.int(0, i + 1);
        [batchMessages[i], batchMessages[j]] = [batchMessages[j]!, batchMessages[i]!];
      }
      const lettersBefore = handler.stats().deadLetters;
      await expect(handler.handle(batchMessages), `case ${c}: ${notes.join(' | ')}`).resolves.toBeUndefined();
      // One letter per hostile message: none silently accepted, none counted twice.
      expect(handler.stats().deadLetters - lettersBefore, `case ${c}: ${notes.join(' | ')}`).toBe(notes.length);
      hostileCount += notes.length;
      messages += batchMessages.length;
    }
    expect(handler.stats()).toMatchObject({ messages, deadLetters: hostileCount, lastError: null });

    // Every good sample stored, with its value, and nothing else for that vehicle.
    const stored = await db.query<{ signal_id: number; ms: string; value: number }>(
      `SELECT signal_id, (extract(epoch FROM time) * 1000)::bigint::text AS ms, value FROM samples WHERE vehicle_id = $1`,
      [goodVehicle],
    );
    expect(new Map(stored.rows.map((r) => [`${r.signal_id}@${r.ms}`, r.value]))).toEqual(expected);

    // Every dead letter is the hostile tenant's (or unaddressed), with a reason.
    const letters = await db.query<{ tenant_id: string | null; topic: string; reason: string }>(
      'SELECT tenant_id, topic, reason FROM dead_letters',
    );
    expect(letters.rows).toHaveLength(hostileCount);
    for (const letter of letters.rows) {
      expect(letter.tenant_id === null || letter.tenant_id === 'evil', letter.topic).toBe(true);
      expect(letter.reason.length, letter.topic).toBeGreaterThan(10);
    }

    // Whatever of the hostile tenant got through (the good samples of partly refused batches) is
    // plausible and dated inside the window.
    const evil = await db.query<{ signal_id: number; ms: string; value: number }>(
      `SELECT signal_id, (extract(epoch FROM time) * 1000)::bigint::text AS ms, value FROM samples WHERE tenant_id = 'evil'`,
    );
    for (const row of evil.rows) {
      expect(isPlausible(signalById(Number(row.signal_id))!, row.value)).toBe(true);
      expect(Number(row.ms)).toBeGreaterThanOrEqual(start - DEFAULT_TIME_WINDOW.pastMs);
      expect(Number(row.ms)).toBeLessThanOrEqual(start + CASES + DEFAULT_TIME_WINDOW.futureMs);
    }
    const elsewhere = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM locations WHERE time > now() + interval '5 minutes' OR time < now() - interval '31 days')::int
            + (SELECT count(*) FROM dtc_reports WHERE time > now() + interval '5 minutes' OR time < now() - interval '31 days')::int AS n`,
    );
    expect(elsewhere.rows[0]!.n).toBe(0);
  }, 60_000);
});
