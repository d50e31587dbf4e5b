import type { Database } from '@clutch/db';
import type { DataQualityEvent } from '../data-quality/repository.js';

/**
 * Per-device batch sequence checks: a batch that never arrived (`seq_gap`) or an agent that started
 * numbering again (`seq_reset`), recorded as data-quality events in the transaction of the batch
 * that revealed them.
 *
 * How the agent numbers (gateway-agent/src/store/outbox.ts): seq is persisted durably and never
 * repeats or goes back while the agent keeps its store; batches are resent after a reconnect (same
 * seq, and ingest's four concurrent batches may reorder them by a few places). Seq goes back only
 * when the store was lost (a fresh SD card, a wiped directory).
 *
 * The rules (the simplest honest ones):
 *  - seq > highest + 1: the missing range is held as pending, not recorded: a late resend may still
 *    fill it. A range still (partly) missing `graceMs` after it was noticed is recorded as
 *    `seq_gap {from, to}` by the device's next batch. A device that falls silent forever leaves its
 *    pending range unrecorded, and pending ranges die with the process (they are in memory).
 *  - seq <= highest inside a pending range: fills it (out-of-order resend; normal).
 *  - seq < highest with a batch start time `t0` later than that of the highest batch, or far below
 *    it (`resetMargin`) after a long silence: the agent restarted without its store. Recorded as
 *    `seq_reset {previous, seq}`; numbering continues from the new seq, pending ranges are dropped.
 *  - any other seq <= highest: a duplicate (a resend of a stored batch); nothing to record.
 *
 * Seeds: the highest seq is seeded from `devices.last_seq` on first sight. That column is written
 * every few seconds (device-progress.ts), so after an unclean stop it lags; seeds are then `untrusted`
 * and a device's first batch re-anchors its sequence without judging the range in between (a loss
 * that began in the last seconds before a crash goes unrecorded). last_seq only ever moves forward,
 * so after a reset it keeps the old value: a seed equal to the `previous` of the device's newest
 * `seq_reset` is ignored (the next batch anchors). A device's very first batch anchors too, and so
 * does that of a device provisioned after the seeds were loaded.
 *
 * One worker must see all of a device's batches: the embedded platform. Scaled-out workers share
 * devices through the stream, so there it is off (startIngest's `detectSeqGaps`).
 */
export interface SeqGapDetector {
  /** Seeds every device's highest seq from the database (one query). */
  load(db: Database, options?: { trusted?: boolean }): Promise<void>;
  /**
   * Notes a telemetry batch of the device, arriving at `at` (ms); returns the findings to store with
   * it. The same batch observed again (its transaction is retried) returns the same findings.
   */
  observe(device: Device, batch: { seq: number; t0: number }, at: number): readonly DataQualityEvent[];
}

type Device = { tenantId: string; deviceId: string; vehicleId: string | null };

/** What observe returns for the usual batch (the next seq, nothing to record): no array per batch. */
const NOTHING: readonly DataQualityEvent[] = Object.freeze([]);

const finding = (
  device: Device,
  kind: DataQualityEvent['kind'],
  detail: Record<string, unknown>,
): DataQualityEvent => ({
  tenantId: device.tenantId,
  deviceId: device.deviceId,
  vehicleId: device.vehicleId,
  kind,
  detail,
});

export interface SeqGapOptions {
  /** How long a missing range may wait for a late resend before it is a gap (default 30 s). */
  graceMs?: number;
  /** Seq this far below the highest, after `resetSilenceMs` without batches, is a reset (default 1000). */
  resetMargin?: number;
  resetSilenceMs?: number;
}

interface Range {
  from: number;
  to: number;
  noticedAt: number;
}

interface DeviceSeq {
  /** Highest seq seen; null until the first batch anchors it. */
  high: number | null;
  /** t0 of the highest batch (null for a seed). */
  highT0: number | null;
  lastAt: number;
  pending: Range[];
  /** Findings of recent batches (by seq), so a retried transaction records them again. */
  found: Map<number, DataQualityEvent[]>;
}

export function createSeqGapDetector(options: SeqGapOptions = {}): SeqGapDetector {
  const graceMs = options.graceMs ?? 30_000;
  const resetMargin = options.resetMargin ?? 1000;
  const resetSilenceMs = options.resetSilenceMs ?? 300_000;
  /** By tenant, then device: looked up with the binding's own strings, no key built per batch. */
  const devices = new Map<string, Map<string, DeviceSeq>>();
  /** Seeds loaded at start and not yet taken (a device provisioned later has none: it anchors). */
  const seeds = new Map<string, { seq: number | null; seenAt: number | null }>();
  let trusted = true;

  function fill(state: DeviceSeq, seq: number): boolean {
    const i = state.pending.findIndex((r) => seq >= r.from && seq <= r.to);
    if (i < 0) return false;
    const r = state.pending[i]!;
    const parts: Range[] = [];
    if (r.from < seq) parts.push({ from: r.from, to: seq - 1, noticedAt: r.noticedAt });
    if (seq < r.to) parts.push({ from: seq + 1, to: r.to, noticedAt: r.noticedAt });
    state.pending.splice(i, 1, ...parts);
    return true;
  }

  return {
    async load(db, loadOptions = {}) {
      trusted = loadOptions.trusted ?? true;
      if (!trusted) return; // every device anchors on its first batch
      const { rows } = await db.query<{ tenant_id: string; id: string; seed: string | null; seen_ms: string | null }>(
        SEED_SQL,
      );
      for (const r of rows)
        seeds.set(`${r.tenant_id}/${r.id}`, {
          seq: r.seed == null ? null : Number(r.seed),
          seenAt: r.seen_ms == null ? null : Number(r.seen_ms),
        });
    },

    observe(device, batch, at) {
      let tenant = devices.get(device.tenantId);
      if (!tenant) devices.set(device.tenantId, (tenant = new Map()));
      let state = tenant.get(device.deviceId);
      if (!state) {
        const key = `${device.tenantId}/${device.deviceId}`;
        const seed = seeds.get(key);
        seeds.delete(key);
        tenant.set(
          device.deviceId,
          (state = {
            high: seed?.seq ?? null,
            highT0: null,
            lastAt: seed?.seenAt ?? at,
            pending: [],
            found: new Map(),
          }),
        );
      }
      const { seq, t0 } = batch;
      const again = state.found.get(seq);
      if (again) return again; // the same batch, its transaction retried
      let events: DataQualityEvent[] | undefined;
      const high = state.high;
      if (high === null) {
        state.high = seq;
        state.highT0 = t0;
      } else if (seq > high) {
        if (seq > high + 1) state.pending.push({ from: high + 1, to: seq - 1, noticedAt: at });
        state.high = seq;
        state.highT0 = t0;
      } else if (!fill(state, seq)) {
        const newerData = state.highT0 !== null && t0 > state.highT0;
        const farBackAfterSilence = high - seq >= resetMargin && at - state.lastAt >= resetSilenceMs;
        if (seq < high && (newerData || farBackAfterSilence)) {
          (events ??= []).push(finding(device, 'seq_reset', { previous: high, seq }));
          state.high = seq;
          state.highT0 = t0;
          state.pending = [];
        }
        // else: a duplicate of a batch already stored; nothing to record.
      }
      state.lastAt = Math.max(state.lastAt, at);
      let kept = 0;
      for (const r of state.pending) {
        if (at - r.noticedAt >= graceMs) (events ??= []).push(finding(device, 'seq_gap', { from: r.from, to: r.to }));
        else state.pending[kept++] = r;
      }
      state.pending.length = kept;
      if (!events) return NOTHING;
      state.found.set(seq, events);
      if (state.found.size > 32) state.found.delete(state.found.keys().next().value!);
      return events;
    },
  };
}

/**
 * A device's seed: its stored last_seq, unless that is the `previous` of its newest seq_reset (the
 * column only moves forward, so it still holds the pre-reset value).
 */
const SEED_SQL = `SELECT d.tenant_id, d.id,
    CASE WHEN r.previous IS NOT NULL AND r.previous >= d.last_seq THEN NULL ELSE d.last_seq END AS seed,
    (extract(epoch FROM d.last_seen_at) * 1000)::bigint AS seen_ms
  FROM devices d
  LEFT JOIN LATERAL (
    SELECT (e.detail->>'previous')::bigint AS previous FROM data_quality_events e
    WHERE e.tenant_id = d.tenant_id AND e.device_id = d.id AND e.kind = 'seq_reset'
    ORDER BY e.id DESC LIMIT 1
  ) r ON true`;
