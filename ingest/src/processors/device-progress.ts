import type { Database } from '@clutch/db';
import type { SeqGapDetector } from './seq-gaps.js';
import { coalesceProgress, touchDevices, type DeviceProgress } from '../devices/repository.js';

/**
 * Coalesces devices' newest seq and contact time between writes. A car sending a batch a second
 * would otherwise rewrite its `devices` row every second: at fleet scale that UPDATE, not the
 * samples' COPY, dominated the ingest transaction. Buffered, a device's row is written at most once
 * per flush, and `last_seen_at` / `last_seq` lag by at most one flush interval (lost on a crash, and
 * rewritten by the device's next message: they are presence information, never the idempotency key).
 */
export interface DeviceProgressBuffer {
  /** The devices' batch-sequence checks (seq-gaps.ts), when this worker sees every batch of a device. */
  readonly seqGaps?: SeqGapDetector;
  add(updates: readonly DeviceProgress[]): void;
  /** Writes everything buffered; on failure it stays buffered for the next flush. */
  flush(db: Database): Promise<number>;
  size(): number;
}

export function createDeviceProgressBuffer(
  options: { rowsPerStatement?: number; seqGaps?: SeqGapDetector } = {},
): DeviceProgressBuffer {
  const rowsPerStatement = options.rowsPerStatement ?? 2000;
  let pending = new Map<string, DeviceProgress>();
  return {
    ...(options.seqGaps ? { seqGaps: options.seqGaps } : {}),
    add(updates) {
      coalesceProgress(pending, updates);
    },
    async flush(db) {
      if (pending.size === 0) return 0;
      const writing = pending;
      pending = new Map();
      const rows = [...writing.values()];
      try {
        // Short transactions: a long one would hold these rows' locks against API writes.
        for (let i = 0; i < rows.length; i += rowsPerStatement) {
          await db.transaction((tx) => touchDevices(tx, rows.slice(i, i + rowsPerStatement)));
        }
      } catch (err) {
        // Keep what was not written (merged with anything newer that arrived meanwhile). touchDevices
        // only ever moves values forward, so rewriting an already written chunk is harmless.
        coalesceProgress(pending, writing.values());
        throw err;
      }
      return rows.length;
    },
    size: () => pending.size,
  };
}
