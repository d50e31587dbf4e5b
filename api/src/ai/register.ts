import type { DomainDeps } from '../domain.js';
import { defaultDatasetsDir } from '../diagnostics/dtc-descriptions.js';
import type { ApiRouter } from '../http/route.js';
import { queuedRetrains } from './retrain-jobs.js';
import { aiRoutes } from './routes.js';
import { AiInsightsService, AiModelsService, DEFAULT_MODELS_DIR } from './service.js';

/** The AI domain's entry point (its other files are owned and changed elsewhere: wrap, do not edit). */
export function register(router: ApiRouter, deps: DomainDeps): void {
  // With the platform's job queue a retrain is a durable job (ai_jobs + queue `ai.retrain`), run by a job worker.
  const retrains = deps.jobs ? queuedRetrains({ jobs: deps.jobs }) : undefined;
  const models = new AiModelsService(
    deps.modelsDir ?? DEFAULT_MODELS_DIR,
    deps.datasetsDir ?? defaultDatasetsDir(),
    retrains,
  );
  aiRoutes(router, models, new AiInsightsService(models));
}
