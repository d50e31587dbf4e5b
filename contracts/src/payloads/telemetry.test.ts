import { describe, expect, it } from 'vitest';
import { isValidTelemetryBatch, parseTelemetryBatch, sampleTime, telemetryBatchSchema, TELEMETRY_LIMITS } from './telemetry.js';

const t0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const good = { v: 1, seq: 7, t0, samples: [[0, 'engine.rpm', 812.5], [250, 'vehicle.speed', 42]] };

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
  ['clock offset null', { ...good, clockOffsetMs: null }],
  ['clock offset NaN-like string', { ...good, clockOffsetMs: 'NaN' }],
  ['no samples', { ...good, samples: [] }],
  ['too many samples', { ...good, samples: Array.from({ length: TELEMETRY_LIMITS.maxSamples + 1 }, () => [0, 'engine.rpm', 1]) }],
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
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('samples.0.1: unknown signal key "engine.warp"') });
    expect(parseTelemetryBatch('{"v":1,')).toEqual({ ok: false, reason: expect.stringContaining('not valid JSON') });
  });

  it('refuses a payload over the byte limit before parsing it', () => {
    const big = JSON.stringify({ ...good, pad: 'x'.repeat(TELEMETRY_LIMITS.maxBytes) });
    expect(parseTelemetryBatch(big)).toEqual({ ok: false, reason: `payload is ${Buffer.byteLength(big)} bytes, the limit is ${TELEMETRY_LIMITS.maxBytes}` });
  });

  it('places each sample at t0 + dt, corrected by the clock offset', () => {
    const parsed = parseTelemetryBatch(Buffer.from(JSON.stringify({ ...good, clockOffsetMs: 2000 })));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.samples.map((s) => sampleTime(parsed.value, s))).toEqual([t0 + 2000, t0 + 2250]);
  });
});
