import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import { createScoringConsumer, type ScorerSlot, type ScoringConsumer, type ScoringStats } from './scoring/consumer.js';
import { recordDeadLetters, type DeadLetter } from './dead-letters/repository.js';
import { processMessage } from './processors/dispatch.js';
import { emptyOutcome, liveEvents, markOf, refuse, rollBackTo, type BatchOutcome } from './processors/outcome.js';
import { recordLatest } from './latest/record.js';
import type { LatestValuesCache } from './latest/latest-values.js';
import { createDeviceResolver, type DeviceResolver } from './processors/resolve-device.js';
import { storeOutcome, type StoreOptions } from './processors/store-outcome.js';
import { DEFAULT_TIME_WINDOW, type TimeWindow } from './processors/time-window.js';
import { addressOf, validateMessage } from './processors/validate.js';
import type { DeviceProgressBuffer } from './processors/device-progress.js';
import type { RollupPartials } from './rollups/partials.js';
import type { SampleStorage } from './samples/repository.js';
import type { BatchHandler, QueuedMessage } from './queue/work-queue.js';

export interface IngestStats {
  messages: number;
  samplesStored: number;
  deadLetters: number;
  alerts: number;
  lastBatchAt: string | null;
  lastError: string | null;
  /** The scoring consumer's progress (consumer.ts); absent when scoring is off. */
  scoring?: ScoringStats;
}

export interface IngestHandler {
  handle: BatchHandler;
  /**
   * Runs one message (a dead letter being replayed) through the chain. Unlike `handle`, a message
   * that is still refused is not dead-lettered again: the caller keeps the original record.
   */
  replay(message: QueuedMessage): Promise<{ stored: boolean; reason?: string }>;
  stats(): IngestStats;
  /**
   * Resolves once every reading committed so far is scored and its alerts stored (at once when
   * scoring is off). Scoring runs after the acknowledgement, on its own consumer.
   */
  scored(): Promise<void>;
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
  if (typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code))
    return RETRY_CLASSES.test(code);
  return !(
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof ReferenceError
  );
}

/** An error as a dead letter's reason: the database's message with its SQLSTATE, or JavaScript's with its type. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.message} (${code})` : `${err.name}: ${err.message}`;
}

/**
 * The processor chain for one batch of queued messages: validate -> resolve device -> the message
 * kind's processor (processors/dispatch.ts: telemetry, status, location, dtc, command result) ->
 * store through each table's repository (one transaction, processors/store-outcome.ts) -> events
 * (after commit) -> the batch is acknowledged. Scoring is its own consumer of the committed rows
 * (scoring/consumer.ts), off the publish-to-stored path. Throws only when the database is unavailable,
 * so the queue redelivers; bad data becomes dead letters. A message that makes any processor fail
 * is dead-lettered alone with the reason: one poison message must never hold the queue (and so
 * every tenant's data) in retries (finding 12.1).
 */
export function createIngestHandler(deps: {
  db: Database;
  bus: LiveEventBus;
  logger?: Logger;
  resolver?: DeviceResolver;
  /**
   * Real-time scoring of stored readings (ML health checks and anomaly model); off when absent.
   * Committed rows are handed to a scoring consumer of their own (scoring/consumer.ts) and scored
   * within moments, after the batch was acknowledged; its alerts reach the outbox as before.
   */
  scorer?: ScorerSlot;
  /** A scoring consumer started by the caller (scoring/threaded.ts: on a thread of its own); wins over `scorer`. */
  scoring?: ScoringConsumer;
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
   * The samples' storage (db storageMode): where their bulk path COPYs (samples/repository.ts).
   * Default: TimescaleDB when the database keeps the rollups, else native partitions.
   */
  storage?: SampleStorage;
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
  /** The latest-values cache the API reads (latest/): each commit's new samples go in before the batch is acknowledged. */
  latest?: LatestValuesCache;
}): IngestHandler {
  const { db, bus, logger } = deps;
  const resolver = deps.resolver ?? createDeviceResolver(db);
  const window = deps.timeWindow ?? DEFAULT_TIME_WINDOW;
  const context = { window, seqGaps: deps.deviceProgress?.seqGaps };
  const rollups = deps.rollups ?? 'ingest';
  const storage = deps.storage ?? (rollups === 'database' ? 'timescaledb' : 'native');
  const writeDeviceProgress = !deps.deviceProgress;
  const storeOptions = (partials: RollupPartials | undefined): StoreOptions => ({
    rollups,
    storage,
    worker: partials?.worker ?? '',
    writeDeviceProgress,
  });
  const scoring: ScoringConsumer | undefined =
    deps.scoring ?? (deps.scorer ? createScoringConsumer({ db, scorer: deps.scorer, logger }) : undefined);
  const stats: IngestStats = {
    messages: 0,
    samplesStored: 0,
    deadLetters: 0,
    alerts: 0,
    lastBatchAt: null,
    lastError: null,
  };

  async function process(messages: readonly QueuedMessage[]): Promise<BatchOutcome> {
    const outcome = emptyOutcome();
    // Database reads (prefetch, resolve) stay outside the per-message guard: their failure is the
    // database being unavailable, which must reach the queue as a retry, not become dead letters.
    // The devices come from the topics alone: payloads are decoded one message at a time below, so
    // a message's parsed JSON is garbage before the next one's is made (decoding the whole batch
    // first kept hundreds of thousands of small arrays alive, and the collector copying them cost
    // more than decoding them).
    const unknown: { tenantId: string; deviceId: string }[] = [];
    const addresses = messages.map(addressOf);
    for (const address of addresses) {
      if (address && address.kind !== 'cmd' && !resolver.cached?.(address.tenant, address.device))
        unknown.push({ tenantId: address.tenant, deviceId: address.device });
    }
    await resolver.prefetch(unknown);
    const mark = markOf(outcome);
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const validated = validateMessage(message, addresses[i] ?? undefined);
      // Prefetched above: the cache answers without a promise per message.
      const binding =
        validated.kind === 'invalid'
          ? null
          : (resolver.cached?.(validated.address.tenant, validated.address.device) ??
            (await resolver.resolve(validated.address.tenant, validated.address.device)));
      markOf(outcome, mark);
      try {
        processMessage(validated, binding, context, outcome);
      } catch (err) {
        // Whatever this message made fail, it alone is set aside: nothing of it is stored.
        rollBackTo(outcome, mark);
        const reason = `ingest failed on this ${validated.kind} message (${describeError(err)}); it was set aside and the rest of its batch stored`;
        logger?.error({ topic: message.topic, err: describeError(err) }, 'message set aside after a processing error');
        refuse(outcome, validated.address, message, reason);
      }
    }
    return outcome;
  }

  async function commit(outcome: BatchOutcome): Promise<number> {
    const partials = deps.rollups === 'database' ? undefined : deps.rollupPartials;
    if (!partials) return commitOnce(outcome, undefined);
    const minutes = new Set<number>();
    let last = Number.NaN;
    for (const r of outcome.rows) {
      const minute = r.timeMs - (r.timeMs % 60_000);
      // A message's rows come by instant: consecutive rows nearly always share the minute.
      if (minute !== last) minutes.add((last = minute));
    }
    return partials.commit([...minutes], () => commitOnce(outcome, partials));
  }

  async function commitOnce(outcome: BatchOutcome, partials: RollupPartials | undefined): Promise<number> {
    const { stored } = await db.transaction((tx) => storeOutcome(tx, outcome, storeOptions(partials)));
    partials?.add(stored); // committed: now this worker's to sum
    await recordLatest(deps.latest, stored, logger);
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
          tenantId: address?.tenant ?? null,
          deviceId: address?.device ?? null,
          topic: message.topic,
          reason: `refused by the database: ${describeError(err)}`,
          payload: message.payload,
        };
        await db.transaction((tx) => recordDeadLetters(tx, [letter]));
        await finish({ ...emptyOutcome(), deadLetters: [letter] }, 0);
        continue;
      }
      await finish(outcome, stored);
    }
  }

  async function finish(outcome: BatchOutcome, stored: number): Promise<void> {
    stats.samplesStored += stored;
    stats.deadLetters += outcome.deadLetters.length;
    stats.lastBatchAt = new Date().toISOString();
    deps.deviceProgress?.add(outcome.devices);
    for (const letter of outcome.deadLetters)
      logger?.warn({ topic: letter.topic, reason: letter.reason }, 'dead letter');
    for (const event of liveEvents(outcome)) bus.publish(event);
    scoring?.offer(outcome.rows);
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
      if (outcome.deadLetters.length > 0)
        return { stored: false, reason: outcome.deadLetters.map((l) => l.reason).join('; ') };
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
    stats: () => {
      if (!scoring) return { ...stats };
      const scored = scoring.stats();
      return { ...stats, alerts: scored.alerts, scoring: scored };
    },
    scored: () => scoring?.idle() ?? Promise.resolve(),
  };
}
