import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { discoverCars, type ModelMetrics } from '@clutch/ml';
import { apiError } from '../errors.js';

export interface RetrainRequest {
  /** The data sets folder: one subfolder per car. */
  datasetsDir: string;
  dir: string;
  fromId: string;
  seed?: number | undefined;
  epochs?: number | undefined;
}

export interface RetrainResult {
  modelId: string;
  version: string;
  metrics: ModelMetrics | null;
}

type WorkerMessage =
  { type: 'log'; line: string } | { type: 'done'; result: RetrainResult } | { type: 'error'; message: string };

/**
 * The worker loads the built `@clutch/ml` (its package entry, `ml/dist`): training and the
 * fault-injection evaluation keep a core busy for tens of seconds, which on the API's own thread
 * would stall every request and drop keep-alive connections.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.mlUrl)
  .then(({ retrain }) => retrain({ ...workerData.request, log: (line) => parentPort.postMessage({ type: 'log', line }) }))
  .then(
    ({ entry }) => parentPort.postMessage({ type: 'done', result: { modelId: entry.id, version: entry.version, metrics: entry.metrics } }),
    (err) => parentPort.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
`;

/**
 * Runs `retrain` from `@clutch/ml` on a worker thread; `log` receives its progress lines. An aborted
 * `signal` (the job expired, or its process is stopping) ends the thread and rejects.
 */
export function retrainInWorker(
  request: RetrainRequest,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<RetrainResult> {
  const mlUrl = pathToFileURL(createRequire(import.meta.url).resolve('@clutch/ml')).href;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('retrain aborted before it started'));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { mlUrl, request } });
    let settled = false;
    const onAbort = (): void => finish(() => reject(new Error('retrain aborted')));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'log') log(msg.line);
      else if (msg.type === 'done') finish(() => resolve(msg.result));
      else finish(() => reject(new Error(msg.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`retrain worker exited with code ${code}`))));
  });
}

/** Where a retrain reads its data and registers its model: the folders of the process that runs it. */
export interface RetrainFolders {
  modelsDir: string;
  datasetsDir: string;
}

export interface RetrainOptions {
  seed?: number | undefined;
  epochs?: number | undefined;
}

/**
 * The data sets folder, resolved, when it holds at least one car's drive logs (carOBD layout or an
 * app export); DATASET_UNAVAILABLE when it holds none.
 */
export async function drivingDatasets(datasetsDir: string): Promise<string> {
  const dir = path.resolve(datasetsDir);
  const cars = await discoverCars(dir).catch(() => []);
  if (cars.length === 0) {
    throw apiError(
      'DATASET_UNAVAILABLE',
      "The data sets folder holds no car's drive logs; retraining needs at least one",
      {
        dataset: 'cars',
      },
    );
  }
  return dir;
}

/** One retrain of `fromId`'s lineage with this process's folders, on a worker thread. */
export type RunRetrain = (
  fromId: string,
  options: RetrainOptions,
  log: (line: string) => void,
  signal?: AbortSignal,
) => Promise<RetrainResult>;

export function retrainWith(folders: RetrainFolders): RunRetrain {
  return async (fromId, options, log, signal) => {
    const datasetsDir = await drivingDatasets(folders.datasetsDir);
    return retrainInWorker(
      { datasetsDir, dir: path.resolve(folders.modelsDir), fromId, seed: options.seed, epochs: options.epochs },
      log,
      signal,
    );
  };
}
