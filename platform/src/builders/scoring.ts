import type { Database } from '@clutch/db';
import { startThreadedScoring, type ScoringConsumer } from '@clutch/ingest';
import type { Logger } from 'pino';

export { HEALTH_CHECKS_ONLY } from '@clutch/ingest';

export interface RunningScoring {
  /** Hand this to startIngest({ scoring }). */
  consumer: ScoringConsumer;
  /** The version scoring now ('health-checks' without a deployed model). */
  modelVersion(): string;
  /** Reads the registry now (the scoring thread does this every watchMs). */
  refresh(): Promise<void>;
  /** Ends the scoring thread: after ingest stopped, whose stop waits for scoring to catch up. */
  stop(): Promise<void>;
}

/**
 * Real-time scoring on a thread of its own (ingest's scoring/threaded.ts), with the registry's
 * deployed model, swapped for a newly deployed one within watchMs (deployed through the API or the
 * ml CLI, from any process sharing modelsDir); without one the health checks score alone. An
 * unreadable registry keeps the model in use, and a swap does not restart any car's calibration
 * (ingest/src/normals/keeper.ts, `adopt`).
 */
export async function startScoring(
  options: { db: Database; modelsDir: string; watchMs: number },
  logger: Logger,
): Promise<RunningScoring> {
  const scoring = await startThreadedScoring({
    db: options.db,
    logger: logger.child({ component: 'scoring' }),
    modelsDir: options.modelsDir,
    watchMs: options.watchMs,
  });
  return {
    consumer: scoring,
    modelVersion: () => scoring.modelVersion(),
    refresh: () => scoring.refresh(),
    stop: () => scoring.close(),
  };
}
