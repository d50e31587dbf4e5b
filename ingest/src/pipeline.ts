import type { LiveEvent, LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import { scoreAndStoreAlerts } from './scoring/alerts.js';
import { recordDataQuality, type DataQualityEvent } from './data-quality/repository.js';
import { recordDeadLetters, type DeadLetter } from './dead-letters/repository.js';
import { normaliseBatch, type SampleRow } from './processors/normalise.js';
import { createDeviceResolver, type DeviceResolver } from './processors/resolve-device.js';
import {
  completeCommands, recordPresence, storeDtcReports, storeLocations, storeSamples, touchDevices, markRollupsDirty,
  type CommandOutcome, type DeviceProgress, type DtcRow, type LocationRow, type PresenceChange, type SampleConflict,
} from './processors/store.js';
import { boundsAround, checkTime, DEFAULT_TIME_WINDOW, type TimeWindow } from './processors/time-window.js';
import { validateMessage, type ValidatedMessage } from './processors/validate.js';
import type { DeviceBinding } from './processors/resolve-device.js';
import type { DeviceProgressBuffer } from './processors/device-progress.js';
import type { RollupPartials } from './rollups/partials.js';
import type { BatchHandler, QueuedMessage } from './queue/work-queue.js';

export interface IngestStats {
  messages: number;
  samplesStored: number;
  deadLetters: number;
  alerts: number;
  lastBatchAt: string | null;
  lastError: string | null;
}

/** The telemetry batch behind `rows[start of this batch .. end)`: names the sender of a stored row. */
interface RowSource {
  end: number;
  deviceId: string;
  seq: number;
}

interface Outcome {
  rows: SampleRow[];
  /** One per telemetry message with rows, in `rows` order (`end` ascending). */
  rowSources: RowSource[];
  deadLetters: DeadLetter[];
  devices: DeviceProgress[];
  presence: PresenceChange[];
  locations: LocationRow[];
  dtcs: DtcRow[];
  commands: (CommandOutcome & { vehicleId: string })[];
  events: LiveEvent[];
  /** Findings about what devices sent (sequence gaps, conflicting duplicates): stored in the commit's transaction. */
  dataQuality: DataQualityEvent[];
}

const emptyOutcome = (): Outcome => ({
  rows: [], rowSources: [], deadLetters: [], devices: [], presence: [], locations: [], dtcs: [], commands: [], events: [], dataQuality: [],
});

type OutcomeMark = Record<keyof Outcome, number>;

/** How long each list of the outcome is, so a message that fails half-way can be taken out again. */
function markOf(outcome: Outcome): OutcomeMark {
  const mark = {} as OutcomeMark;
  for (const key in outcome) mark[key as keyof Outcome] = outcome[key as keyof Outcome].length;
  return mark;
}

function rollBackTo(outcome: Outcome, mark: OutcomeMark): void {
  for (const key in outcome) outcome[key as keyof Outcome].length = mark[key as keyof Outcome];
}

export interface IngestHandler {
  handle: BatchHandler;
  /**
   * Runs one message (a dead letter being replayed) through the chain. Unlike `handle`, a message
   * that is still refused is not dead-lettered again: the caller keeps the original record.
   */
  replay(message: QueuedMessage): Promise<{ stored: boolean; reason?: string }>;
  stats(): IngestStats;
}

/**
 * SQLSTATE classes where waiting and retrying is the remedy: connection exceptions (08),
 * transaction rollback (40: deadlock, serialization), insufficient resources (53), operator
 * intervention (57: shutdown, cancel) and system errors (58: I/O). Any other SQLSTATE is about
 * the data (22, 23, 42, ...): retrying the same message would fail the same way for ever.
 */
const RETRY_CLASSES = /^(08|40|53|57|58)/;

/**
 * True when a failed commit means the database is unavailable (retry the whole batch later), false
 * when this data is the problem (find the message and dead-letter it). A server-reported error has
 * a severity and a five-character SQLSTATE; both drivers report one. An error without one comes
 * from the driver's connection (refused, reset, pool closed or timed out), unless it is one of
 * JavaScript's own error types, which only our code on this data can raise.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) return RETRY_CLASSES.test(code);
  return !(err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError);
}

/** An error as a dead letter's reason: the database's message with its SQLSTATE, or JavaScript's with its type. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.message} (${code})` : `${err.name}: ${err.message}`;
}

/**
 * The processor chain for one batch of queued messages: validate -> resolve device -> normalise ->
 * store (one transaction) -> events (after commit). Throws only when the database is unavailable,
 * so the queue redelivers; bad data becomes dead letters. A message that makes any processor fail
 * is dead-lettered alone with the reason: one poison message must never hold the queue (and so
 * every tenant's data) in retries (finding 12.1).
 */
export function createIngestHandler(deps: {
  db: Database;
  bus: LiveEventBus;
  logger?: Logger;
  resolver?: DeviceResolver;
  /** Real-time scoring of stored readings (ML health checks and anomaly model); off when absent. */
  scorer?: { scorer: OnlineScorer; modelVersion: string | null };
  /**
   * Where devices' newest seq and contact time go: buffered and written by the owner's flush
   * (startIngest does it every few seconds), or, when absent, written in every batch's transaction.
   */
  deviceProgress?: DeviceProgressBuffer;
  /**
   * Who keeps the 1-minute rollups: ingest (native storage: each transaction marks its minutes for
   * refreshRollups) or the database (TimescaleDB continuous aggregates). Default: ingest.
   */
  rollups?: 'ingest' | 'database';
  /**
   * With ingest rollups: this worker's in-memory minute sums, written by the owner's flush
   * (startIngest). Absent, every stored minute is left for refreshRollups to recompute.
   */
  rollupPartials?: RollupPartials;
  /**
   * How far from the receive time a reading may be dated (default DEFAULT_TIME_WINDOW: 30 days
   * back, 5 minutes ahead; see time-window.ts for why). Readings outside are dead-lettered.
   */
  timeWindow?: TimeWindow;
}): IngestHandler {
  const { db, bus, logger } = deps;
  const resolver = deps.resolver ?? createDeviceResolver(db);
  const window = deps.timeWindow ?? DEFAULT_TIME_WINDOW;
  const stats: IngestStats = { messages: 0, samplesStored: 0, deadLetters: 0, alerts: 0, lastBatchAt: null, lastError: null };

  async function process(messages: readonly QueuedMessage[]): Promise<Outcome> {
    const outcome = emptyOutcome();
    const validatedMessages = messages.map(validateMessage);
    // Database reads (prefetch, resolve) stay outside the per-message guard: their failure is the
    // database being unavailable, which must reach the queue as a retry, not become dead letters.
    await resolver.prefetch(validatedMessages.flatMap((v) => (v.kind === 'invalid' ? [] : [{ tenantId: v.address.tenant, deviceId: v.address.device }])));
    for (const validated of validatedMessages) {
      const binding = validated.kind === 'invalid' ? null : await resolver.resolve(validated.address.tenant, validated.address.device);
      const mark = markOf(outcome);
      try {
        processMessage(outcome, validated, binding);
      } catch (err) {
        // Whatever this message made fail, it alone is set aside: nothing of it is stored.
        rollBackTo(outcome, mark);
        const { message } = validated;
        const reason = `ingest failed on this ${validated.kind} message (${describeError(err)}); it was set aside and the rest of its batch stored`;
        logger?.error({ topic: message.topic, err: describeError(err) }, 'message set aside after a processing error');
        outcome.deadLetters.push({ tenantId: validated.address?.tenant ?? null, deviceId: validated.address?.device ?? null, topic: message.topic, reason, payload: message.payload });
      }
    }
    return outcome;
  }

  /** One message's share of the outcome. May throw (a defect on hostile input): the caller isolates it. */
  function processMessage(outcome: Outcome, validated: ValidatedMessage, binding: DeviceBinding | null): void {
    const { message } = validated;
    const tenantId = validated.address?.tenant ?? null;
    const deviceId = validated.address?.device ?? null;
    const refuse = (reason: string, payload = message.payload): void => {
      outcome.deadLetters.push({ tenantId, deviceId, topic: message.topic, reason, payload });
    };
    if (validated.kind === 'invalid') return refuse(validated.reason);
    if (!binding) return refuse(`device ${tenantId}/${deviceId} is not provisioned`);
    if (validated.kind === 'status') {
      // Presence is dated by the receive time; the status's own `t` (the device clock, uncorrected,
      // and absent from the Last Will) is not stored, so the time window does not apply to it.
      const online = validated.status.state === 'online';
      outcome.devices.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, seq: null, seenAt: new Date(message.receivedAt) });
      outcome.presence.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, online, at: new Date(message.receivedAt) });
      outcome.events.push({
        type: 'presence', tenantId: binding.tenantId, vehicleId: binding.vehicleId, deviceId: binding.deviceId,
        online, at: new Date(message.receivedAt).toISOString(),
      });
      return;
    }
    const bounds = boundsAround(message.receivedAt, window);
    const seen: DeviceProgress = { tenantId: binding.tenantId, deviceId: binding.deviceId, seq: null, seenAt: new Date(message.receivedAt) };
    if (validated.kind === 'location') {
      const fix = validated.fix;
      const outside = checkTime('location fix', fix.t, bounds);
      if (outside) return refuse(outside);
      outcome.locations.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, fix });
      outcome.devices.push(seen);
      outcome.events.push({
        type: 'location', tenantId: binding.tenantId, vehicleId: binding.vehicleId, at: new Date(fix.t).toISOString(),
        lat: fix.lat, lon: fix.lon, speedKmh: fix.speedKmh, headingDeg: fix.headingDeg,
      });
      return;
    }
    if (validated.kind === 'dtc') {
      const outside = checkTime('trouble-code report', validated.report.t, bounds);
      if (outside) return refuse(outside);
      outcome.dtcs.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, report: validated.report });
      outcome.devices.push(seen);
      outcome.events.push({
        type: 'dtc', tenantId: binding.tenantId, vehicleId: binding.vehicleId, at: new Date(validated.report.t).toISOString(),
        codes: validated.report.codes.map((c) => ({ code: c.code, kind: c.kind })),
      });
      return;
    }
    if (validated.kind === 'cmd_result') {
      // No device time to check: completion is dated by the database's clock.
      outcome.commands.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, vehicleId: binding.vehicleId, result: validated.result });
      outcome.devices.push(seen);
      return;
    }
    const batch = validated.batch;
    const { rows, rejected } = normaliseBatch(batch, binding, bounds);
    if (rejected.length > 0) {
      // The refused samples in a batch of their own (same t0 and offset), so a replay after a fix
      // places them at the same times.
      const refused = { v: batch.v, seq: batch.seq, t0: batch.t0, ...(batch.clockOffsetMs === undefined ? {} : { clockOffsetMs: batch.clockOffsetMs }), samples: rejected.map((r) => r.sample) };
      refuse(`${rejected.length} sample(s) refused: ${rejected.slice(0, 3).map((r) => r.reason).join('; ')}`, Buffer.from(JSON.stringify(refused)));
    }
    for (const row of rows) outcome.rows.push(row);
    if (rows.length > 0) outcome.rowSources.push({ end: outcome.rows.length, deviceId: binding.deviceId, seq: batch.seq });
    outcome.devices.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, seq: batch.seq, seenAt: new Date(message.receivedAt) });
    for (const finding of deps.deviceProgress?.seqGaps?.observe(binding, batch, message.receivedAt) ?? []) outcome.dataQuality.push(finding); // seq_gap / seq_reset, seq-gaps.ts
    if (rows.length > 0) {
      outcome.events.push({
        type: 'readings', tenantId: binding.tenantId, vehicleId: binding.vehicleId,
        readings: rows.map((r) => ({ signal: r.signalKey, time: r.timeIso, value: r.value })),
      });
    }
  }

  /** Data-quality events for samples that repeat a stored (vehicle, signal, time) with another value. */
  function conflictEvents(outcome: Outcome, conflicts: readonly SampleConflict[]): DataQualityEvent[] {
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
        tenantId: row.tenantId, deviceId: source.deviceId, vehicleId: row.vehicleId, kind: 'conflicting_duplicate',
        detail: { signal: row.signalKey, time: row.timeIso, stored: c.stored, received: row.value, seq: source.seq },
      };
    });
  }

  async function commit(outcome: Outcome): Promise<number> {
    const partials = deps.rollups === 'database' ? undefined : deps.rollupPartials;
    if (!partials) return commitOnce(outcome, undefined);
    const minutes = new Set<number>();
    for (const r of outcome.rows) minutes.add(r.timeMs - (r.timeMs % 60_000));
    return partials.commit([...minutes], () => commitOnce(outcome, partials));
  }

  async function commitOnce(outcome: Outcome, partials: RollupPartials | undefined): Promise<number> {
    const stored = await db.transaction(async (tx) => {
      const { stored, conflicts } = await storeSamples(tx, outcome.rows);
      if (deps.rollups !== 'database') await markRollupsDirty(tx, stored, partials?.worker ?? '');
      await storeLocations(tx, outcome.locations);
      await storeDtcReports(tx, outcome.dtcs);
      await recordDeadLetters(tx, outcome.deadLetters);
      // First write wins (redelivery stays idempotent), but a contradicting repeat is never silent.
      await recordDataQuality(tx, conflicts.length === 0 ? outcome.dataQuality : [...outcome.dataQuality, ...conflictEvents(outcome, conflicts)]);
      if (!deps.deviceProgress) await touchDevices(tx, outcome.devices);
      await recordPresence(tx, outcome.presence);
      const completed = new Set(await completeCommands(tx, outcome.commands));
      for (const c of outcome.commands) {
        if (completed.has(c.result.id)) {
          outcome.events.push({ type: 'command', tenantId: c.tenantId, vehicleId: c.vehicleId, commandId: c.result.id, status: c.result.ok ? 'succeeded' : 'failed' });
        }
      }
      return stored;
    });
    partials?.add(stored); // committed: now this worker's to sum
    return stored.length;
  }

  async function commitEachAlone(messages: readonly QueuedMessage[]): Promise<void> {
    // The data of some message in the batch made the commit fail: find it and dead-letter only it.
    for (const message of messages) {
      const outcome = await process([message]);
      let stored: number;
      try {
        stored = await commit(outcome);
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        const address = validateMessage(message).address;
        const letter: DeadLetter = {
          tenantId: address?.tenant ?? null, deviceId: address?.device ?? null, topic: message.topic,
          reason: `refused by the database: ${describeError(err)}`, payload: message.payload,
        };
        await db.transaction((tx) => recordDeadLetters(tx, [letter]));
        await finish({ ...emptyOutcome(), deadLetters: [letter] }, 0);
        continue;
      }
      await finish(outcome, stored);
    }
  }

  async function finish(outcome: Outcome, stored: number): Promise<void> {
    stats.samplesStored += stored;
    stats.deadLetters += outcome.deadLetters.length;
    stats.lastBatchAt = new Date().toISOString();
    deps.deviceProgress?.add(outcome.devices);
    for (const letter of outcome.deadLetters) logger?.warn({ topic: letter.topic, reason: letter.reason }, 'dead letter');
    for (const event of outcome.events) bus.publish(event);
    if (deps.scorer && outcome.rows.length > 0) {
      try {
        const scored = await scoreAndStoreAlerts(db, deps.scorer.scorer, outcome.rows, deps.scorer.modelVersion);
        stats.alerts += scored.alerts;
        for (const event of scored.events) bus.publish(event);
      } catch (err) {
        logger?.error({ err: (err as Error).message }, 'scoring failed; samples are stored, alerts for this batch are not');
      }
    }
  }

  return {
    async handle(messages) {
      try {
        const outcome = await process(messages);
        // Only the commit is retried or split; events and scoring after it never re-run a commit.
        let stored: number | undefined;
        try {
          stored = await commit(outcome);
        } catch (err) {
          if (isDatabaseUnavailable(err)) throw err;
          await commitEachAlone(messages);
        }
        if (stored !== undefined) await finish(outcome, stored);
        stats.messages += messages.length;
        stats.lastError = null;
      } catch (err) {
        stats.lastError = (err as Error).message;
        throw err; // the queue keeps the messages and retries
      }
    },
    async replay(message) {
      const outcome = await process([message]);
      if (outcome.deadLetters.length > 0) return { stored: false, reason: outcome.deadLetters.map((l) => l.reason).join('; ') };
      let stored: number;
      try {
        stored = await commit(outcome);
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        return { stored: false, reason: `refused by the database: ${describeError(err)}` };
      }
      await finish(outcome, stored);
      return { stored: true };
    },
    stats: () => ({ ...stats }),
  };
}
