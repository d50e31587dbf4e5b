import { createOnlineScorer, getLiveModel, type OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';

/** What ingest scores with; ingest reads both fields per batch, so replacing them swaps the model. */
export interface ScorerSlot {
  scorer: OnlineScorer;
  modelVersion: string;
}

export interface RunningScoring {
  /** Hand this to startIngest({ scorer }). */
  slot: ScorerSlot;
  /** The version scoring now ('health-checks' without a deployed model). */
  modelVersion(): string;
  /** Reads the registry now (the watcher does this every watchMs). */
  refresh(): Promise<void>;
  stop(): void;
}

/** The version reported when no model is deployed: the rule-based health checks score alone. */
export const HEALTH_CHECKS_ONLY = 'health-checks';

/**
 * The online scorer with the registry's deployed model, swapped for a newly deployed one within
 * watchMs (deployed through the API or the ml CLI, from any process sharing modelsDir). An unreadable
 * registry keeps the model in use. A swap does not restart any car's calibration: ingest's scoring
 * consumer seeds the new scorer with every vehicle's normal from the old one when it first scores
 * with it (ingest/src/normals/keeper.ts, `adopt`), learning not yet written included.
 */
export async function startScoring(
  options: { modelsDir: string; watchMs: number },
  logger: Logger,
): Promise<RunningScoring> {
  const live = await getLiveModel(options.modelsDir).catch((err: Error) => {
    logger.warn({ err: err.message }, 'model registry unreadable; scoring with the health checks only');
    return null;
  });
  const slot: ScorerSlot = {
    scorer: createOnlineScorer(live ? { model: live.model } : {}),
    modelVersion: live?.entry.version ?? HEALTH_CHECKS_ONLY,
  };

  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (reading ??= getLiveModel(options.modelsDir)
      .then(
        (next) => {
          const version = next?.entry.version ?? HEALTH_CHECKS_ONLY;
          if (version === slot.modelVersion) return;
          slot.scorer = createOnlineScorer(next ? { model: next.model } : {});
          slot.modelVersion = version;
          logger.info({ version }, 'scoring with a newly deployed model');
        },
        // Mid-write or briefly missing: the next pass reads it again.
        () => {},
      )
      .finally(() => {
        reading = undefined;
      }));
  const watch = setInterval(() => void refresh(), options.watchMs);
  watch.unref();
  return { slot, modelVersion: () => slot.modelVersion, refresh, stop: () => clearInterval(watch) };
}
