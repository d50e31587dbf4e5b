import { z } from 'zod';
import { signalByKey } from '../signals/catalogue.js';
import { decodeJson, describeIssues, type ParseResult } from './parse.js';
import { EPOCH_MAX_MS, EPOCH_MIN_MS, MAX_CLOCK_OFFSET_MS } from './time-bounds.js';

export const TELEMETRY_VERSION = 1;

/** Hard limits on one telemetry message (DESIGN.md §4). The broker's max packet size sits above these. */
export const TELEMETRY_LIMITS = {
  maxBytes: 256 * 1024,
  maxSamples: 5000,
  /** Largest offset of a sample from the batch's t0. */
  maxSpanMs: 60 * 60 * 1000,
} as const;

/** One reading: [ms after t0, signal key, value]. Arrays keep cellular bytes down. */
export const sampleSchema = z.tuple([
  z.int().min(0).max(TELEMETRY_LIMITS.maxSpanMs),
  z.string().refine((key) => signalByKey(key) !== undefined, {
    error: (issue) => `unknown signal key ${JSON.stringify(issue.input)}`,
  }),
  z.number().refine(Number.isFinite, { error: 'value must be a finite number' }),
]);

export const telemetryBatchSchema = z.strictObject({
  v: z.literal(TELEMETRY_VERSION),
  /** Per-device monotonic sequence number: dedupe and gap detection. */
  seq: z.int().min(0),
  /** Device clock at the first sample, ms since the Unix epoch. */
  t0: z.int().min(EPOCH_MIN_MS).max(EPOCH_MAX_MS),
  /** The agent's estimate of (true time - device clock), added to every sample time. */
  clockOffsetMs: z.number().finite().min(-MAX_CLOCK_OFFSET_MS).max(MAX_CLOCK_OFFSET_MS).optional(),
  samples: z.array(sampleSchema).min(1).max(TELEMETRY_LIMITS.maxSamples),
});

export type TelemetrySample = z.infer<typeof sampleSchema>;
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;

const BATCH_KEYS = new Set(['v', 'seq', 't0', 'clockOffsetMs', 'samples']);

/**
 * The schema's rules written out by hand: ingest validates every message, and walking thousands of
 * sample tuples through zod costs more than the database insert. Only a "yes" is trusted; on "no"
 * the zod schema decides and explains, so the accepted language is exactly the schema's.
 */
export function isValidTelemetryBatch(data: unknown): data is TelemetryBatch {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  const batch = data as Record<string, unknown>;
  for (const key in batch) if (!BATCH_KEYS.has(key)) return false;
  if (batch.v !== TELEMETRY_VERSION) return false;
  if (!Number.isSafeInteger(batch.seq) || (batch.seq as number) < 0) return false;
  const t0 = batch.t0;
  if (!Number.isSafeInteger(t0) || (t0 as number) < EPOCH_MIN_MS || (t0 as number) > EPOCH_MAX_MS) return false;
  if ('clockOffsetMs' in batch) {
    const offset = batch.clockOffsetMs;
    // Written so NaN fails too (every comparison with NaN is false).
    if (typeof offset !== 'number' || !(offset >= -MAX_CLOCK_OFFSET_MS && offset <= MAX_CLOCK_OFFSET_MS)) return false;
  }
  const samples = batch.samples;
  if (!Array.isArray(samples) || samples.length < 1 || samples.length > TELEMETRY_LIMITS.maxSamples) return false;
  for (const sample of samples) if (!isValidSample(sample)) return false;
  return true;
}

function isValidSample(sample: unknown): boolean {
  if (!Array.isArray(sample) || sample.length !== 3) return false;
  const [dt, key, value] = sample as unknown[];
  if (!Number.isSafeInteger(dt) || (dt as number) < 0 || (dt as number) > TELEMETRY_LIMITS.maxSpanMs) return false;
  if (typeof key !== 'string' || signalByKey(key) === undefined) return false;
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Why a batch the fast check refused is invalid, in the zod schema's words. zod sees the envelope and
 * only the first refused sample: walking thousands of tuples through it cost 35 ms for a batch of
 * 5,000 unknown keys, so one hostile device could hold the event loop that every tenant's ingest
 * shares. Where the fast check and the schema disagree (they should not: a test keeps them in step),
 * the schema decides on the whole batch.
 */
function explainTelemetryBatch(data: unknown): ParseResult<TelemetryBatch> {
  const samples =
    typeof data === 'object' && data !== null && !Array.isArray(data)
      ? (data as Record<string, unknown>).samples
      : undefined;
  if (!Array.isArray(samples) || samples.length <= 1) return judgeWhole(data);
  const bad = samples.findIndex((s) => !isValidSample(s));
  const probe = telemetryBatchSchema.safeParse({ ...(data as object), samples: [samples[Math.max(bad, 0)]] });
  const issues = probe.success
    ? []
    : probe.error.issues.map((issue) => ({
        ...issue,
        path: issue.path[0] === 'samples' && bad > 0 ? ['samples', bad, ...issue.path.slice(2)] : issue.path,
      }));
  if (samples.length > TELEMETRY_LIMITS.maxSamples)
    issues.unshift({
      code: 'too_big',
      path: ['samples'],
      message: `Too big: expected array to have <=${TELEMETRY_LIMITS.maxSamples} items`,
    } as (typeof issues)[number]);
  return issues.length > 0 ? { ok: false, reason: describeIssues({ issues }) } : judgeWhole(data);
}

function judgeWhole(data: unknown): ParseResult<TelemetryBatch> {
  const result = telemetryBatchSchema.safeParse(data);
  return result.success ? { ok: true, value: result.data } : { ok: false, reason: describeIssues(result.error) };
}

export function parseTelemetryBatch(payload: Uint8Array | string): ParseResult<TelemetryBatch> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > TELEMETRY_LIMITS.maxBytes)
    return { ok: false, reason: `payload is ${size} bytes, the limit is ${TELEMETRY_LIMITS.maxBytes}` };
  const decoded = decodeJson(payload);
  if (!decoded.ok) return decoded;
  return isValidTelemetryBatch(decoded.value)
    ? { ok: true, value: decoded.value }
    : explainTelemetryBatch(decoded.value);
}

/** Absolute time of a sample, corrected by the agent's clock-offset estimate. */
export function sampleTime(batch: TelemetryBatch, sample: TelemetrySample): number {
  return batch.t0 + sample[0] + (batch.clockOffsetMs ?? 0);
}
