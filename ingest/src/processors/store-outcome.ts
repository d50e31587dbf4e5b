import { completeCommands, type Queryable } from '@clutch/db';
import { appendLiveEvent, appendLiveEvents, type OutboxLiveEvent } from '@clutch/jobs';
import { recordDataQuality, type DataQualityEvent } from '../data-quality/repository.js';
import { recordDeadLetters } from '../dead-letters/repository.js';
import { recordPresence, touchDevices } from '../devices/repository.js';
import { storeDtcReports, type DtcRow } from '../dtc/repository.js';
import { storeLocations } from '../locations/repository.js';
import { markRollupsDirty } from '../rollups/marks.js';
import { storeSamples, type SampleConflict, type SampleStorage, type StoredSample } from '../samples/repository.js';
import type { BatchOutcome } from './outcome.js';

export interface StoreOptions {
  /** Ingest keeps the minute rollups (marks each stored minute) or the database does (TimescaleDB). */
  rollups: 'ingest' | 'database';
  /** Where samples' fast path COPYs: monthly partitions (native) or the hypertable (repository.ts). */
  storage: SampleStorage;
  /** The worker whose in-memory sums hold the marked minutes ('' : recompute them from the samples). */
  worker: string;
  /** False when a buffer writes device progress on its own schedule (device-progress.ts). */
  writeDeviceProgress: boolean;
}

/**
 * The store step: writes a batch's outcome through each table's repository, inside the caller's
 * transaction, one statement per table (a few for samples on their fallback path). The `command`
 * event of each command an answer completed, and the `dtc` event of each trouble-code report stored
 * now (a redelivered report is not announced again), go to the outbox in the same transaction, so
 * they are announced exactly when the change commits and the notifications that follow them
 * (api/src/notifications/events) never miss one. Returns the samples that were new.
 */
export async function storeOutcome(
  tx: Queryable,
  outcome: BatchOutcome,
  options: StoreOptions,
): Promise<{ stored: StoredSample[] }> {
  const { stored, conflicts } = await storeSamples(tx, outcome.rows, options.storage);
  if (options.rollups !== 'database') await markRollupsDirty(tx, stored, options.worker);
  await storeLocations(tx, outcome.locations);
  await appendLiveEvents(tx, (await storeDtcReports(tx, outcome.dtcs)).map(dtcEvent));
  await recordDeadLetters(tx, outcome.deadLetters);
  // First write wins (redelivery stays idempotent), but a contradicting repeat is never silent.
  await recordDataQuality(
    tx,
    conflicts.length === 0 ? outcome.dataQuality : [...outcome.dataQuality, ...conflictEvents(outcome, conflicts)],
  );
  if (options.writeDeviceProgress) await touchDevices(tx, outcome.devices);
  await recordPresence(tx, outcome.presence);
  if (outcome.commands.length > 0) {
    const completed = new Set(await completeCommands(tx, outcome.commands));
    for (const c of outcome.commands) {
      if (completed.has(c.result.id)) {
        await appendLiveEvent(tx, {
          type: 'command',
          tenantId: c.tenantId,
          vehicleId: c.vehicleId,
          commandId: c.result.id,
          status: c.result.ok ? 'succeeded' : 'failed',
        });
      }
    }
  }
  return { stored };
}

/** The live event announcing a stored trouble-code report. */
function dtcEvent(row: DtcRow): OutboxLiveEvent {
  return {
    type: 'dtc',
    tenantId: row.tenantId,
    vehicleId: row.vehicleId,
    at: new Date(row.report.t).toISOString(),
    codes: row.report.codes.map((c) => ({ code: c.code, kind: c.kind })),
  };
}

/** Data-quality events for samples that repeat a stored (vehicle, signal, time) with another value. */
export function conflictEvents(
  outcome: Pick<BatchOutcome, 'rows' | 'rowSources'>,
  conflicts: readonly SampleConflict[],
): DataQualityEvent[] {
  return conflicts.map((c) => {
    const row = outcome.rows[c.index]!;
    // rowSources is ordered by `end`: the first source ending after the row holds it.
    let lo = 0;
    let hi = outcome.rowSources.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (outcome.rowSources[mid]!.end > c.index) hi = mid;
      else lo = mid + 1;
    }
    const source = outcome.rowSources[lo]!;
    return {
      tenantId: row.tenantId,
      deviceId: source.deviceId,
      vehicleId: row.vehicleId,
      kind: 'conflicting_duplicate',
      detail: { signal: row.signalKey, time: row.timeIso, stored: c.stored, received: row.value, seq: source.seq },
    };
  });
}
