import { z } from 'zod';
import { signalByKey } from '../signals/catalogue.js';
import { parseJsonPayload, type ParseResult } from './parse.js';

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
  z.string().refine((key) => signalByKey(key) !== undefined, { error: (issue) => `unknown signal key ${JSON.stringify(issue.input)}` }),
  z.number().refine(Number.isFinite, { error: 'value must be a finite number' }),
]);

export const telemetryBatchSchema = z.strictObject({
  v: z.literal(TELEMETRY_VERSION),
  /** Per-device monotonic sequence number: dedupe and gap detection. */
  seq: z.int().min(0),
  /** Device clock at the first sample, ms since the Unix epoch. */
  t0: z.int().min(Date.UTC(2000, 0, 1)).max(Date.UTC(2100, 0, 1)),
  /** The agent's estimate of (true time - device clock), added to every sample time. */
  clockOffsetMs: z.number().finite().optional(),
  samples: z.array(sampleSchema).min(1).max(TELEMETRY_LIMITS.maxSamples),
});

export type TelemetrySample = z.infer<typeof sampleSchema>;
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;

export function parseTelemetryBatch(payload: Uint8Array | string): ParseResult<TelemetryBatch> {
  return parseJsonPayload(payload, telemetryBatchSchema, TELEMETRY_LIMITS.maxBytes);
}

/** Absolute time of a sample, corrected by the agent's clock-offset estimate. */
export function sampleTime(batch: TelemetryBatch, sample: TelemetrySample): number {
  return batch.t0 + sample[0] + (batch.clockOffsetMs ?? 0);
}
