import {
  isPlausible,
  sampleTime,
  signalByKey,
  type SignalDefinition,
  type TelemetryBatch,
  type TelemetrySample,
} from '@clutch/contracts';
import type { DeviceBinding } from './resolve-device.js';
import { isWithin, outsideReason, type TimeBounds } from './time-window.js';

export interface SampleRow {
  /** Sample time, ms since the epoch, and the same as ISO 8601 (formatted once per distinct time). */
  timeMs: number;
  timeIso: string;
  tenantId: string;
  vehicleId: string;
  signalId: number;
  signalKey: string;
  value: number;
}

/**
 * Reasons kept per batch. Building a reason formats times and numbers (three ISO dates for one out of
 * the window): for every refused sample of a 4,000-sample batch that took 15 ms of the event loop
 * every tenant's ingest shares. The dead letter names the first few and carries every refused sample.
 */
export const REASONS_KEPT = 3;

export interface NormalisedBatch {
  rows: SampleRow[];
  /** Every refused sample, in payload order. */
  refused: TelemetrySample[];
  /** Why, for the first REASONS_KEPT of them. */
  reasons: string[];
}

/**
 * The telemetry processor's first step (telemetry.ts): payload samples -> rows with absolute, clock-corrected time and signal ids.
 * Values outside the signal's SAE J1979 encodable range, and corrected times outside `bounds` (the
 * time window around the message's receipt, see time-window.ts), are refused one by one (the rest
 * of the batch is stored). Payload values are already in catalogue units, so no conversion happens here.
 */
export function normaliseBatch(batch: TelemetryBatch, binding: DeviceBinding, bounds: TimeBounds): NormalisedBatch {
  const rows: SampleRow[] = [];
  const refused: TelemetrySample[] = [];
  const reasons: string[] = [];
  // A reading cycle stamps many signals with one time: format each distinct time once.
  let lastMs = Number.NaN;
  let lastIso = '';
  const samples = batch.samples;
  // No closure in this loop: one capturing its variables (a reason built later) made V8 allocate
  // a context per sample, boxed time included, which more than doubled what a row costs.
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i]!;
    const signal = signalByKey(sample[1]);
    if (!signal) {
      refused.push(sample);
      if (reasons.length < REASONS_KEPT) reasons.push(`unknown signal key ${sample[1]}`);
      continue;
    }
    if (!isPlausible(signal, sample[2])) {
      refused.push(sample);
      if (reasons.length < REASONS_KEPT) reasons.push(implausibleReason(signal, sample[2]));
      continue;
    }
    // Whole milliseconds (a fractional clock offset is possible): the stored time, and so the
    // idempotency key, must be the same whichever write path (binary COPY or INSERT) stores it.
    const timeMs = Math.floor(sampleTime(batch, sample));
    // Checked before the time is formatted: a time outside the window may be no valid Date at all.
    if (!isWithin(timeMs, bounds)) {
      refused.push(sample);
      if (reasons.length < REASONS_KEPT) reasons.push(outsideWindowReason(batch, i, signal, timeMs, bounds));
      continue;
    }
    if (timeMs !== lastMs) {
      lastMs = timeMs;
      lastIso = new Date(timeMs).toISOString();
    }
    rows.push({
      timeMs,
      timeIso: lastIso,
      tenantId: binding.tenantId,
      vehicleId: binding.vehicleId,
      signalId: signal.id,
      signalKey: signal.key,
      value: sample[2],
    });
  }
  return { rows, refused, reasons };
}

function implausibleReason(signal: SignalDefinition, value: number): string {
  return `${signal.key} = ${value} is outside ${signal.min}..${signal.max} ${signal.unit}`.trim();
}

function outsideWindowReason(
  batch: TelemetryBatch,
  i: number,
  signal: SignalDefinition,
  timeMs: number,
  bounds: TimeBounds,
): string {
  return outsideReason(
    `sample ${i} (${signal.key}, t0 + ${batch.samples[i]![0]} ms + offset ${batch.clockOffsetMs ?? 0} ms)`,
    timeMs,
    bounds,
  );
}
