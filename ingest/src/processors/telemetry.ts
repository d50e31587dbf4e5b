import type { MessageProcessor } from './message-processor.js';
import { normaliseBatch } from './normalise.js';
import { refuse, type PendingReadings } from './outcome.js';

/**
 * A telemetry batch: its samples become rows (normalise.ts); the ones refused (unknown signal,
 * implausible value, dated outside the window) become one dead letter; the device's seq is
 * checked for gaps and resets (seq-gaps.ts) and its progress noted; stored readings are announced.
 */
export const processTelemetry: MessageProcessor<'telemetry'> = (
  { address, batch, message },
  binding,
  { bounds, seqGaps },
  outcome,
) => {
  const { rows, refused: refusedSamples, reasons } = normaliseBatch(batch, binding, bounds);
  if (refusedSamples.length > 0) {
    // The refused samples in a batch of their own (same t0 and offset), so a replay after a fix
    // places them at the same times.
    const refused = {
      v: batch.v,
      seq: batch.seq,
      t0: batch.t0,
      ...(batch.clockOffsetMs === undefined ? {} : { clockOffsetMs: batch.clockOffsetMs }),
      samples: refusedSamples,
    };
    refuse(
      outcome,
      address,
      message,
      `${refusedSamples.length} sample(s) refused: ${reasons.join('; ')}`,
      Buffer.from(JSON.stringify(refused)),
    );
  }
  const start = outcome.rows.length;
  for (const row of rows) outcome.rows.push(row);
  if (rows.length > 0)
    outcome.rowSources.push({ end: outcome.rows.length, deviceId: binding.deviceId, seq: batch.seq });
  outcome.devices.push({
    tenantId: binding.tenantId,
    deviceId: binding.deviceId,
    seq: batch.seq,
    seenAt: new Date(message.receivedAt),
  });
  for (const finding of seqGaps?.observe(binding, batch, message.receivedAt) ?? []) outcome.dataQuality.push(finding); // seq_gap / seq_reset
  if (rows.length > 0) {
    // Its readings are copied from the rows after the commit (outcome.ts liveEvents).
    const event: PendingReadings['event'] = {
      type: 'readings',
      tenantId: binding.tenantId,
      vehicleId: binding.vehicleId,
      readings: [],
    };
    outcome.events.push(event);
    outcome.pendingReadings.push({ event, start, end: outcome.rows.length });
  }
};
