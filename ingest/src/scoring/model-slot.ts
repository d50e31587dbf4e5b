import { createOnlineScorer, getLiveModel } from '@clutch/ml';
import type { Logger } from 'pino';
import type { ScorerSlot } from './consumer.js';

export interface ModelSlot {
  /** What the scoring consumer scores with; replaced when a new model is deployed. */
  slot: ScorerSlot & { modelVersion: string };
  /** Reads the registry now (the watcher does this every watchMs). */
  refresh(): Promise<void>;
  stop(): void;
}

/** The version reported when no model is deployed: the rule-based health checks score alone. */
export const HEALTH_CHECKS_ONLY = 'health-checks';

/**
 * The online scorer with the registry's deployed model, swapped for a newly deployed one within
 * watchMs (deployed through the API or the ml CLI, from any process sharing modelsDir). An unreadable
 * registry keeps the model in use. A swap does not restart any car's calibration: the scoring
 * consumer seeds the new scorer with every vehicle's normal from the old one when it first scores
 * with it (normals/keeper.ts, `adopt`), learning not yet written included. Without a registry
 * (`modelsDir` absent) the health checks score alone.
 */
export async function startModelSlot(
  options: { modelsDir?: string | undefined; watchMs: number; onSwap?: (version: string) => void },
  logger?: Logger,
): Promise<ModelSlot> {
  const { modelsDir } = options;
  const live = modelsDir
    ? await getLiveModel(modelsDir).catch((err: Error) => {
        logger?.warn({ err: err.message }, 'model registry unreadable; scoring with the health checks only');
        return null;
      })
    : null;
  const slot: ModelSlot['slot'] = {
    scorer: createOnlineScorer(live ? { model: live.model } : {}),
    modelVersion: live?.entry.version ?? HEALTH_CHECKS_ONLY,
  };
  if (!modelsDir) return { slot, refresh: () => Promise.resolve(), stop: () => {} };

  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (reading ??= getLiveModel(modelsDir)
      .then(
        (next) => {
          const version = next?.entry.version ?? HEALTH_CHECKS_ONLY;
          if (version === slot.modelVersion) return;
          slot.scorer = createOnlineScorer(next ? { model: next.model } : {});
          slot.modelVersion = version;
          logger?.info({ version }, 'scoring with a newly deployed model');
          options.onSwap?.(version);
        },
        // Mid-write or briefly missing: the next pass reads it again.
        () => {},
      )
      .finally(() => {
        reading = undefined;
      }));
  const watch = setInterval(() => void refresh(), options.watchMs);
  watch.unref();
  return { slot, refresh, stop: () => clearInterval(watch) };
}
