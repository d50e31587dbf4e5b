import { randomUUID } from 'node:crypto';
import type { LiveEventBus } from '@clutch/contracts';
import { storageMode, type Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import { createIngestHandler, type IngestStats } from './pipeline.js';
import { createMemoryQueue } from './queue/memory-queue.js';
import type { WorkQueue } from './queue/work-queue.js';
import { expireCommands } from './commands/expire.js';
import { createDeviceProgressBuffer } from './processors/device-progress.js';
import { createRollupPartials } from './rollups/partials.js';
import { refreshRollups } from './rollups/refresh.js';
import { DEFAULT_RETENTION, maintainStorage, type RetentionPolicy } from './storage/maintenance.js';
import type { MessageSource } from './sources/message-source.js';

export interface RunningIngest {
  stats(): IngestStats & { queueDepth: number };
  /** Re-runs a dead letter's message through the chain (see IngestHandler.replay). */
  replay(message: { topic: string; payload: Buffer }): Promise<{ stored: boolean; reason?: string }>;
  /** Stops taking messages and waits until everything queued is committed. */
  stop(): Promise<void>;
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
  /** Real-time scoring; see createIngestHandler. */
  scorer?: { scorer: OnlineScorer; modelVersion: string | null };
}): Promise<RunningIngest> {
  const { logger } = deps;
  const queue =
    deps.queue ??
    createMemoryQueue({
      onError: (err, attempt) => {
        if (attempt === 0 || attempt % 20 === 0) logger?.error({ err: (err as Error).message, attempt }, 'ingest batch failed; will retry');
      },
    });
  // On TimescaleDB the database keeps the rollups (continuous aggregates); elsewhere ingest does.
  const storage = await storageMode(deps.db);
  const deviceProgress = createDeviceProgressBuffer();
  const rollupPartials = storage === 'native' ? createRollupPartials({ worker: randomUUID() }) : undefined;
  const handler = createIngestHandler({
    db: deps.db, bus: deps.bus, deviceProgress, rollups: storage === 'timescaledb' ? 'database' : 'ingest',
    ...(rollupPartials ? { rollupPartials } : {}), ...(logger ? { logger } : {}), ...(deps.scorer ? { scorer: deps.scorer } : {}),
  });
  queue.consume(handler.handle);
  await deps.source.start((message) => queue.enqueue(message));

  // Background jobs on a 1 s tick: one paced rollup transaction per tick (see ROLLUP_PACE), command
  // expiry every fifth. A tick is skipped while the previous one is still running, never stacked.
  const jobsIntervalMs = deps.rollupIntervalMs ?? 1000;
  let jobsRun: Promise<unknown> = Promise.resolve();
  let jobsBusy = false;
  let tick = 0;
  const jobsTimer = jobsIntervalMs > 0
    ? setInterval(() => {
        if (jobsBusy) return;
        jobsBusy = true;
        tick += 1;
        jobsRun = Promise.all([
          storage === 'native' && refreshRollups(deps.db, ROLLUP_PACE).catch((err: Error) => logger?.warn({ err: err.message }, 'rollup refresh failed; will retry')),
          tick % 5 === 0 && expireCommands(deps.db).then(
            (events) => events.forEach((e) => deps.bus.publish(e)),
            (err: Error) => logger?.warn({ err: err.message }, 'command expiry failed; will retry'),
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
        progressDue && deviceProgress.flush(deps.db).catch((err: Error) => logger?.warn({ err: err.message, pending: deviceProgress.size() }, 'device progress not written; will retry')),
        rollupPartials
          ?.flush(deps.db, all ? { all } : { maxMinutes: ROLLUP_SUMS_PER_FLUSH })
          .catch((err: Error) => logger?.warn({ err: err.message, pending: rollupPartials.size() }, 'rollup sums not written; will retry')),
      ]);
    }));
  let flushBusy = false;
  const flushTimer = setInterval(() => {
    if (flushBusy) return;
    flushBusy = true;
    void flushBuffers().finally(() => (flushBusy = false));
  }, 1000);
  flushTimer.unref();

  const maintenanceIntervalMs = deps.maintenanceIntervalMs ?? 6 * 3600_000;
  let maintenanceRun: Promise<unknown> = Promise.resolve();
  const maintain = (): void => {
    maintenanceRun = maintainStorage(deps.db, deps.retention ?? DEFAULT_RETENTION, new Date(), storage).then(
      (report) => logger?.info(report, 'storage maintenance done'),
      (err: Error) => logger?.warn({ err: err.message }, 'storage maintenance failed; will retry'),
    );
  };
  if (maintenanceIntervalMs > 0) maintain();
  const maintenanceTimer = maintenanceIntervalMs > 0 ? setInterval(maintain, maintenanceIntervalMs) : undefined;
  maintenanceTimer?.unref();

  return {
    stats: () => ({ ...handler.stats(), queueDepth: queue.depth() }),
    replay: (message) => handler.replay({ ...message, receivedAt: Date.now() }),
    async stop() {
      await deps.source.stop();
      await queue.drain();
      clearInterval(jobsTimer);
      clearInterval(maintenanceTimer);
      clearInterval(flushTimer);
      await Promise.all([jobsRun, maintenanceRun, flushBuffers(true)]);
    },
  };
}
