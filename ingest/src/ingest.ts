import { randomUUID } from 'node:crypto';
import type { LiveEventBus } from '@clutch/contracts';
import { storageMode, type Database } from '@clutch/db';
import type { Logger } from 'pino';
import { createIngestHandler, type IngestStats } from './pipeline.js';
import type { ScorerSlot, ScoringConsumer } from './scoring/consumer.js';
import type { LatestValuesCache } from './latest/latest-values.js';
import { createMemoryQueue } from './queue/memory-queue.js';
import type { DrainResult, WorkQueue } from './queue/work-queue.js';
import { sweepExpiredCommands } from './processors/command-expiry.js';
import { createDeviceProgressBuffer } from './processors/device-progress.js';
import { createSeqGapDetector, type SeqGapDetector } from './processors/seq-gaps.js';
import { createRollupPartials } from './rollups/partials.js';
import { refreshRollups } from './rollups/refresh.js';
import { beat, fenceOtherWorkers, registerWorker, retireWorker, WORKER_HEARTBEAT_MS } from './rollups/workers.js';
import { DEFAULT_RETENTION, maintainStorage, type RetentionPolicy } from './storage/maintenance.js';
import type { MessageSource } from './sources/message-source.js';

export interface RunningIngest {
  stats(): IngestStats & { queueDepth: number };
  /** Re-runs a dead letter's message through the chain (see IngestHandler.replay). */
  replay(message: { topic: string; payload: Buffer }): Promise<{ stored: boolean; reason?: string }>;
  /**
   * Stops taking messages and waits until everything queued is committed, at most `timeoutMs`
   * (default 10 s) in all: then it gives up on what is left, whose hand-offs are rejected (never
   * acknowledged: the devices resend them), so a stop always ends, even with the database down.
   */
  stop(timeoutMs?: number): Promise<{ drained: DrainResult; flushed: boolean }>;
}

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** Resolves true when `work` settled within `ms`, false otherwise (the work goes on, unwatched). */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms)))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Recomputing a vehicle-minute reads its ~1,200 samples (1 Hz x 20 signals) again. Ingest's own
 * minute sums (rollups/partials.ts) make that the exception (a dead worker's minutes, late uploads,
 * replays), and at most 250 per 1 s tick keeps a burst of them from stalling ingest.
 */
const ROLLUP_PACE = { limit: 250, maxTransactions: 1 } as const;
/** 500 vehicle-minutes (~10,000 rows) per second: 30,000 cars' minutes drain within each minute. */
const ROLLUP_SUMS_PER_FLUSH = 500;

export async function startIngest(deps: {
  db: Database;
  bus: LiveEventBus;
  source: MessageSource;
  queue?: WorkQueue;
  logger?: Logger;
  /**
   * Tick of the background jobs: a paced rollup refresh every tick, command expiry every fifth
   * (default 1000 ms); 0 disables both (another worker runs them).
   */
  rollupIntervalMs?: number;
  /** Partitions ahead and retention; runs at start and then every interval (0 disables it). */
  maintenanceIntervalMs?: number;
  retention?: RetentionPolicy;
  /** How often buffered device progress (last seq, last seen) is written (default 5000 ms; minute sums go every second); see device-progress.ts. */
  deviceProgressIntervalMs?: number;
  /** Real-time scoring, as its own consumer of the committed rows on this thread; see createIngestHandler. */
  scorer?: ScorerSlot;
  /** Real-time scoring by a consumer the caller started (scoring/threaded.ts); wins over `scorer`. */
  scoring?: ScoringConsumer;
  /**
   * This is the only ingest worker on the database (the embedded platform; default: true when no
   * queue is given). Any other registered worker is then a previous run that died, whose minutes are
   * recomputed at once (rollups/workers.ts).
   */
  soleWorker?: boolean;
  /** Per-device seq gap and reset findings (seq-gaps.ts); default: soleWorker (one worker must see all of a device's batches). */
  detectSeqGaps?: boolean;
  /** The latest-values cache the API reads (latest/): fed after each commit, emptied after retention deleted samples. */
  latest?: LatestValuesCache;
}): Promise<RunningIngest> {
  const { logger } = deps;
  const queue =
    deps.queue ??
    createMemoryQueue({
      onError: (err, attempt) => {
        if (attempt === 0 || attempt % 20 === 0)
          logger?.error({ err: (err as Error).message, attempt }, 'ingest batch failed; will retry');
      },
    });
  // On TimescaleDB the database keeps the rollups (continuous aggregates); elsewhere ingest does.
  const storage = await storageMode(deps.db);
  const worker = randomUUID();
  const soleWorker = deps.soleWorker ?? deps.queue === undefined;
  // Registered before it marks anything, so a death of this worker is noticed by its heartbeat.
  await registerWorker(deps.db, worker);
  const killed = soleWorker ? await fenceOtherWorkers(deps.db, worker) : [];
  if (killed.length > 0)
    logger?.warn(
      { workers: killed },
      'previous ingest run did not stop cleanly; its minute rollups are recomputed now',
    );
  let seqGaps: SeqGapDetector | undefined;
  if (deps.detectSeqGaps ?? soleWorker) {
    seqGaps = createSeqGapDetector();
    // After an unclean stop devices.last_seq lags (it is written every few seconds): not a baseline.
    await seqGaps.load(deps.db, { trusted: killed.length === 0 });
  }
  const deviceProgress = createDeviceProgressBuffer(seqGaps ? { seqGaps } : {});
  const rollupPartials = storage === 'native' ? createRollupPartials({ worker }) : undefined;
  const handler = createIngestHandler({
    db: deps.db,
    bus: deps.bus,
    deviceProgress,
    rollups: storage === 'timescaledb' ? 'database' : 'ingest',
    storage,
    ...(rollupPartials ? { rollupPartials } : {}),
    ...(logger ? { logger } : {}),
    ...(deps.scorer ? { scorer: deps.scorer } : {}),
    ...(deps.scoring ? { scoring: deps.scoring } : {}),
    ...(deps.latest ? { latest: deps.latest } : {}),
  });
  queue.consume(handler.handle);
  // Durable hand-off unless the source acknowledged before it got the message (aedesSource).
  await deps.source.start(
    deps.source.push === 'accepted'
      ? (message) => queue.enqueue(message)
      : (message, onAccepted) => queue.handoff(message, onAccepted),
  );

  // Background jobs on a 1 s tick: one paced rollup transaction per tick (see ROLLUP_PACE), command
  // expiry every fifth. A tick is skipped while the previous one is still running, never stacked.
  const jobsIntervalMs = deps.rollupIntervalMs ?? 1000;
  let jobsRun: Promise<unknown> = Promise.resolve();
  let jobsBusy = false;
  let tick = 0;
  const jobsTimer =
    jobsIntervalMs > 0
      ? setInterval(() => {
          if (jobsBusy) return;
          jobsBusy = true;
          tick += 1;
          jobsRun = Promise.all([
            storage === 'native' &&
              refreshRollups(deps.db, { ...ROLLUP_PACE, self: worker }).catch((err: Error) =>
                logger?.warn({ err: err.message }, 'rollup refresh failed; will retry'),
              ),
            tick % 5 === 0 &&
              sweepExpiredCommands(deps.db).catch((err: Error) =>
                logger?.warn({ err: err.message }, 'command expiry failed; will retry'),
              ),
          ]).finally(() => {
            jobsBusy = false;
          });
        }, jobsIntervalMs)
      : undefined;
  jobsTimer?.unref();

  // This worker's buffered writes: its minute sums every second (at most ROLLUP_SUMS_PER_FLUSH
  // vehicle-minutes, so commits wait briefly), device progress every deviceProgressIntervalMs.
  // Nobody else can write them, so they run even where the shared jobs are off.
  let flushRun: Promise<unknown> = Promise.resolve();
  let lastProgressFlush = Date.now();
  const progressEveryMs = deps.deviceProgressIntervalMs ?? 5000;
  const flushBuffers = (all = false): Promise<unknown> =>
    (flushRun = flushRun.then(() => {
      const progressDue = all || Date.now() - lastProgressFlush >= progressEveryMs;
      if (progressDue) lastProgressFlush = Date.now();
      return Promise.all([
        progressDue &&
          deviceProgress
            .flush(deps.db)
            .catch((err: Error) =>
              logger?.warn(
                { err: err.message, pending: deviceProgress.size() },
                'device progress not written; will retry',
              ),
            ),
        rollupPartials
          ?.flush(deps.db, all ? { all } : { maxMinutes: ROLLUP_SUMS_PER_FLUSH })
          .catch((err: Error) =>
            logger?.warn({ err: err.message, pending: rollupPartials.size() }, 'rollup sums not written; will retry'),
          ),
      ]);
    }));
  let flushBusy = false;
  const flushTimer = setInterval(() => {
    if (flushBusy) return;
    flushBusy = true;
    void flushBuffers().finally(() => (flushBusy = false));
  }, 1000);
  flushTimer.unref();

  // The heartbeat that tells other workers (and the next run) this one is alive; see rollups/workers.ts.
  let fenced = false;
  const heartbeatTimer = setInterval(() => {
    beat(deps.db, worker).then(
      (alive) => {
        if (!alive && !fenced)
          logger?.warn(
            { worker },
            'this ingest worker was presumed dead (silent too long); its minutes are recomputed from the samples',
          );
        fenced = !alive;
      },
      (err: Error) => logger?.warn({ err: err.message }, 'ingest heartbeat failed; will retry'),
    );
  }, WORKER_HEARTBEAT_MS);
  heartbeatTimer.unref();

  const maintenanceIntervalMs = deps.maintenanceIntervalMs ?? 6 * 3600_000;
  let maintenanceRun: Promise<unknown> = Promise.resolve();
  const maintain = (): void => {
    maintenanceRun = maintainStorage(deps.db, deps.retention ?? DEFAULT_RETENTION, new Date(), storage).then(
      async (report) => {
        logger?.info(report, 'storage maintenance done');
        // A cached latest value may be a sample retention just deleted.
        if (report.samplesDeleted > 0 || report.partitionsDropped.length > 0)
          await deps.latest
            ?.invalidateAll()
            .catch((err: Error) =>
              logger?.warn(
                { err: err.message },
                'latest values not forgotten after retention; they expire on their own',
              ),
            );
      },
      (err: Error) => logger?.warn({ err: err.message }, 'storage maintenance failed; will retry'),
    );
  };
  if (maintenanceIntervalMs > 0) maintain();
  const maintenanceTimer = maintenanceIntervalMs > 0 ? setInterval(maintain, maintenanceIntervalMs) : undefined;
  maintenanceTimer?.unref();

  return {
    stats: () => ({ ...handler.stats(), queueDepth: queue.depth() }),
    replay: (message) => handler.replay({ ...message, receivedAt: Date.now() }),
    async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      // Most of the budget for the queue; the rest (at least a second) for the final flush.
      const flushReserve = Math.max(1000, timeoutMs / 4);
      await within(deps.source.stop(), deadline - Date.now());
      const drained = await queue.drain(Math.max(0, deadline - Date.now() - flushReserve));
      if (!drained.complete)
        logger?.warn(
          { abandoned: drained.abandoned },
          'ingest stopped before everything was stored; unacknowledged messages are resent by the devices',
        );
      // Readings committed before the stop are scored (and their alerts stored) if time allows.
      await within(handler.scored(), Math.max(0, deadline - Date.now() - flushReserve));
      clearInterval(jobsTimer);
      clearInterval(maintenanceTimer);
      clearInterval(flushTimer);
      clearInterval(heartbeatTimer);
      // Minute sums and device progress are not acknowledged data: unwritten, the minutes are
      // recomputed from the samples (this worker stays unretired, so the next run fences it).
      const finalFlush = Promise.all([jobsRun, flushBuffers(true)]).then(async () => {
        if ((rollupPartials?.size() ?? 0) === 0 && deviceProgress.size() === 0) await retireWorker(deps.db, worker);
        else throw new Error('buffers not written');
      });
      const flushed =
        (await within(finalFlush, deadline - Date.now())) &&
        (await finalFlush.then(
          () => true,
          () => false,
        ));
      await within(maintenanceRun, deadline - Date.now());
      return { drained, flushed };
    },
  };
}
