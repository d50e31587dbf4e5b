import type { LiveEventBus } from '@clutch/contracts';
import { storageMode, type Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import { createIngestHandler, type IngestStats } from './pipeline.js';
import { createMemoryQueue } from './queue/memory-queue.js';
import type { WorkQueue } from './queue/work-queue.js';
import { expireCommands } from './commands/expire.js';
import { createDeviceProgressBuffer } from './processors/device-progress.js';
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

export async function startIngest(deps: {
  db: Database;
  bus: LiveEventBus;
  source: MessageSource;
  queue?: WorkQueue;
  logger?: Logger;
  /** How often dirty rollup minutes are recomputed and overdue commands timed out; 0 disables both (another worker runs them). */
  rollupIntervalMs?: number;
  /** Partitions ahead and retention; runs at start and then every interval (0 disables it). */
  maintenanceIntervalMs?: number;
  retention?: RetentionPolicy;
  /** How often buffered device progress (last seq, last seen) is written; see device-progress.ts. */
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
  const handler = createIngestHandler({
    db: deps.db, bus: deps.bus, deviceProgress, rollups: storage === 'timescaledb' ? 'database' : 'ingest',
    ...(logger ? { logger } : {}), ...(deps.scorer ? { scorer: deps.scorer } : {}),
  });
  queue.consume(handler.handle);
  await deps.source.start((message) => queue.enqueue(message));

  const rollupIntervalMs = deps.rollupIntervalMs ?? 5000;
  let rollupRun: Promise<unknown> = Promise.resolve();
  const rollupTimer = rollupIntervalMs > 0
    ? setInterval(() => {
        rollupRun = Promise.all([
          storage === 'native' && refreshRollups(deps.db).catch((err: Error) => logger?.warn({ err: err.message }, 'rollup refresh failed; will retry')),
          expireCommands(deps.db).then(
            (events) => events.forEach((e) => deps.bus.publish(e)),
            (err: Error) => logger?.warn({ err: err.message }, 'command expiry failed; will retry'),
          ),
        ]);
      }, rollupIntervalMs)
    : undefined;
  rollupTimer?.unref();

  let progressRun: Promise<unknown> = Promise.resolve();
  const flushProgress = (): Promise<unknown> =>
    (progressRun = progressRun.then(() =>
      deviceProgress.flush(deps.db).catch((err: Error) => logger?.warn({ err: err.message, pending: deviceProgress.size() }, 'device progress not written; will retry')),
    ));
  const progressTimer = setInterval(() => void flushProgress(), deps.deviceProgressIntervalMs ?? 5000);
  progressTimer.unref();

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
      clearInterval(rollupTimer);
      clearInterval(maintenanceTimer);
      clearInterval(progressTimer);
      await Promise.all([rollupRun, maintenanceRun, flushProgress()]);
    },
  };
}
