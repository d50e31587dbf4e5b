import type { ImportHistory } from '@clutch/api';
import type { Database } from '@clutch/db';
import { importVehicleLog } from '@clutch/ingest';
import { getLiveModel } from '@clutch/ml';
import { HEALTH_CHECKS_ONLY } from '../builders/scoring.js';

/**
 * How an import stores and scores a log, the same for `clutch import` and the upload's job: ingest's
 * importVehicleLog with the model deployed now (read from the registry at each import), or the
 * rule-based health checks alone when none is deployed or the registry cannot be read.
 */
export function importHistoryWith(db: Database, modelsDir: string, warn?: (message: string) => void): ImportHistory {
  return async (input) => {
    const live = await getLiveModel(modelsDir).catch((err: Error) => {
      warn?.(`model registry unreadable (${err.message}); scoring with the health checks only`);
      return null;
    });
    return importVehicleLog(db, {
      ...input,
      model: live?.model ?? null,
      modelVersion: live?.entry.version ?? HEALTH_CHECKS_ONLY,
    });
  };
}
