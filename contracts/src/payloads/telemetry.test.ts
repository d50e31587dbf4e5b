import { describe, expect, it } from 'vitest';
import {
  isValidTelemetryBatch,
  parseTelemetryBatch,
  sampleTime,
  telemetryBatchSchema,
  TELEMETRY_LIMITS,
} from './telemetry.js';
import { EPOCH_MAX_MS, MAX_CLOCK_OFFSET_MS } from './time-bounds.js';

const t0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const good = {
  v: 1,
  seq: 7,
  t0,
  samples: [
    [0, 'engine.rpm', 812.5],
    [250, 'vehicle.speed', 42],
  ],
};

// Payloads on both sides of every rule; the fast check must agree with the zod schema on each.
const corpus: [string, unknown][] = [
  ['valid', good],
  ['valid with clock offset', { ...good, clockOffsetMs: -1500.5 }],
  ['extra key', { ...good, extra: 1 }],
  ['wrong version', { ...good, v: 2 }],
  ['negative seq', { ...good, seq: -1 }],
  ['fractional seq', { ...good, seq: 1.5 }],
  ['seq as string', { ...good, seq: '7' }],
  ['t0 before 2000', { ...good, t0: 0 }],
  ['t0 fractional', { ...good, t0: t0 + 0.5 }],
  ['t0 at the static upper bound', { ...good, t0: EPOCH_MAX_MS }],
  ['t0 past the static upper bound', { ...good, t0: EPOCH_MAX_MS + 1 }],
  ['t0 in 2150 (the server clock, not the contract, refuses it)', { ...good, t0: Date.UTC(2150, 0, 1) }],
  ['t0 1e300', { ...good, t0: 1e300 }],
  ['clock offset at +10 years', { ...good, clockOffsetMs: MAX_CLOCK_OFFSET_MS }],
  ['clock offset at -10 years', { ...good, clockOffsetMs: -MAX_CLOCK_OFFSET_MS }],
  ['clock offset just beyond 10 years', { ...good, clockOffsetMs: MAX_CLOCK_OFFSET_MS + 0.5 }],
  ['clock offset 1e300 (finding 12.1)', { ...good, clockOffsetMs: 1e300 }],
  ['clock offset -1e300', { ...good, clockOffsetMs: -1e300 }],
  ['clock offset -0', { ...good, clockOffsetMs: -0 }],
  ['clock offset tiny', { ...good, clockOffsetMs: 5e-324 }],
  ['clock offset NaN', { ...good, clockOffsetMs: Number.NaN }],
  ['clock offset Infinity', { ...good, clockOffsetMs: Number.POSITIVE_INFINITY }],
  ['clock offset null', { ...good, clockOffsetMs: null }],
  ['clock offset NaN-like string', { ...good, clockOffsetMs: 'NaN' }],
  ['no samples', { ...good, samples: [] }],
  [
    'too many samples',
    { ...good, samples: Array.from({ length: TELEMETRY_LIMITS.maxSamples + 1 }, () => [0, 'engine.rpm', 1]) },
  ],
  ['sample too short', { ...good, samples: [[0, 'engine.rpm']] }],
  ['sample too long', { ...good, samples: [[0, 'engine.rpm', 1, 2]] }],
  ['sample as object', { ...good, samples: [{ dt: 0, key: 'engine.rpm', value: 1 }] }],
  ['negative dt', { ...good, samples: [[-1, 'engine.rpm', 1]] }],
  ['dt beyond span', { ...good, samples: [[TELEMETRY_LIMITS.maxSpanMs + 1, 'engine.rpm', 1]] }],
  ['unknown signal', { ...good, samples: [[0, 'engine.warp', 1]] }],
  ['value as string', { ...good, samples: [[0, 'engine.rpm', '812']] }],
  ['value null', { ...good, samples: [[0, 'engine.rpm', null]] }],
  ['array root', [good]],
  ['null root', null],
];

describe('telemetry batch validation', () => {
  it.each(corpus)('fast check agrees with the schema: %s', (_name, payload) => {
    expect(isValidTelemetryBatch(payload)).toBe(telemetryBatchSchema.safeParse(payload).success);
  });

  it('explains why a batch was refused, naming the field', () => {
    const result = parseTelemetryBatch(JSON.stringify({ ...good, samples: [[0, 'engine.warp', 1]] }));
    expect(result).toEqual({
      ok: false,
      reason: expect.stringContaining('samples.0.1: unknown signal key "engine.warp"'),
    });
    expect(parseTelemetryBatch('{"v":1,')).toEqual({ ok: false, reason: expect.stringContaining('not valid JSON') });
  });

  it('regression 12.1: names the first refused sample of a large batch without judging every sample with the schema', () => {
    const samples = Array.from({ length: 4000 }, (_, i): [number, string, number] => [i, 'engine.rpm', 800]);
    samples[1234] = [1234, 'engine.warp', 1];
    samples[3000] = [3000, 'engine.rpm', Number.NaN];
    const result = parseTelemetryBatch(JSON.stringify({ ...good, samples }).replace('null', '"NaN"'));
    expect(result).toEqual({ ok: false, reason: 'invalid payload: samples.1234.1: unknown signal key "engine.warp"' });
    const envelope = parseTelemetryBatch(
      JSON.stringify({ ...good, seq: -1, samples: samples.slice(0, 1000).fill([0, 'engine.rpm', 1]) }),
    );
    expect(envelope).toEqual({ ok: false, reason: expect.stringContaining('seq: Too small') });
    const tooMany = parseTelemetryBatch(
      JSON.stringify({
        ...good,
        samples: Array.from({ length: TELEMETRY_LIMITS.maxSamples + 1 }, () => [0, 'engine.rpm', 1]),
      }),
    );
    expect(tooMany).toEqual({
      ok: false,
      reason: expect.stringContaining(
        `samples: Too big: expected array to have <=${TELEMETRY_LIMITS.maxSamples} items`,
      ),
    });
    // Where only the sample count is wrong, the count is the reason.
    expect(tooMany.ok || tooMany.reason.includes('samples.0')).toBe(false);
  });

  it('refuses a payload over the byte limit before parsing it', () => {
    const big = JSON.stringify({ ...good, pad: 'x'.repeat(TELEMETRY_LIMITS.maxBytes) });
    expect(parseTelemetryBatch(big)).toEqual({
      ok: false,
      reason: `payload is ${Buffer.byteLength(big)} bytes, the limit is ${TELEMETRY_LIMITS.maxBytes}`,
    });
  });

  it('regression 12.2: bounds t0 to 2000..2200 and the clock offset to ten years either way', () => {
    const accepted = (patch: Record<string, unknown>): boolean =>
      telemetryBatchSchema.safeParse({ ...good, ...patch }).success;
    expect([accepted({ t0: EPOCH_MAX_MS }), accepted({ t0: EPOCH_MAX_MS + 1 })]).toEqual([true, false]);
    expect([
      accepted({ clockOffsetMs: MAX_CLOCK_OFFSET_MS }),
      accepted({ clockOffsetMs: MAX_CLOCK_OFFSET_MS + 0.5 }),
    ]).toEqual([true, false]);
    expect([
      accepted({ clockOffsetMs: -MAX_CLOCK_OFFSET_MS }),
      accepted({ clockOffsetMs: -MAX_CLOCK_OFFSET_MS - 0.5 }),
    ]).toEqual([true, false]);
    expect(MAX_CLOCK_OFFSET_MS).toBeGreaterThanOrEqual(10 * 365 * 86_400_000);
  });

  it('regression 12.1: keeps every accepted sample time a valid Date, whatever t0 and offset the batch carries', () => {
    const extreme = {
      ...good,
      t0: EPOCH_MAX_MS,
      clockOffsetMs: MAX_CLOCK_OFFSET_MS,
      samples: [[TELEMETRY_LIMITS.maxSpanMs, 'engine.rpm', 1]],
    };
    const parsed = parseTelemetryBatch(JSON.stringify(extreme));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(new Date(sampleTime(parsed.value, parsed.value.samples[0]!)).toISOString()).toMatch(/^22\d\d-/);
    expect(parseTelemetryBatch(JSON.stringify({ ...good, clockOffsetMs: 1e300 }))).toEqual({
      ok: false,
      reason: expect.stringContaining('clockOffsetMs'),
    });
  });

  it('places each sample at t0 + dt, corrected by the clock offset', () => {
    const parsed = parseTelemetryBatch(Buffer.from(JSON.stringify({ ...good, clockOffsetMs: 2000 })));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.samples.map((s) => sampleTime(parsed.value, s))).toEqual([t0 + 2000, t0 + 2250]);
  });
});
