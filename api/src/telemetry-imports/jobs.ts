import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import type { JobDefiner } from '../ai/retrain-job-worker.js';
import { runTelemetryImport, type ImportHistory } from './run.js';

/** The queue uploads wait on; its worker is defineTelemetryImportWorker. */
export const TELEMETRY_IMPORT_QUEUE = 'telemetry.import';

/**
 * The same in every process that declares the queue. One import at a time per process (a long log
 * is a few hundred thousand samples and a scorer run); an attempt counts as lost after an hour.
 * A file that cannot be imported fails its row and is not retried; a database fault is, twice.
 */
export const TELEMETRY_IMPORT_SETTINGS = { concurrency: 1, retryLimit: 2, retryDelay: 30, expireIn: 3600 } as const;

/** The job data: the row of `telemetry_imports` holds the rest (and the upload's text). */
export interface TelemetryImportJobData {
  importId: string;
}

export interface TelemetryImportWorkerDeps {
  /** The platform's database (owner): the import runs as the system, for the tenant on the row. */
  db: Database;
  /** ingest's importVehicleLog with the live model, wired by the platform (builders/jobs.ts). */
  importHistory: ImportHistory;
  logger?: Logger | undefined;
}

/** Works TELEMETRY_IMPORT_QUEUE in this process. At least once: a redelivered job finds its row taken or done. */
export async function defineTelemetryImportWorker(queue: JobDefiner, deps: TelemetryImportWorkerDeps): Promise<void> {
  await queue.define<TelemetryImportJobData>(
    TELEMETRY_IMPORT_QUEUE,
    async (job) => {
      const row = await runTelemetryImport(deps.db, job.data.importId, deps.importHistory);
      if (row?.status === 'failed')
        deps.logger?.info(
          { importId: row.id, error: row.error },
          'telemetry import failed: the file could not be imported',
        );
    },
    TELEMETRY_IMPORT_SETTINGS,
  );
}
