import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModelMetrics } from '@clutch/ml';

export interface RetrainRequest {
  datasetDir: string;
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

type WorkerMessage = { type: 'log'; line: string } | { type: 'done'; result: RetrainResult } | { type: 'error'; message: string };

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

/** Runs `retrain` from `@clutch/ml` on a worker thread; `log` receives its progress lines. */
export function retrainInWorker(request: RetrainRequest, log: (line: string) => void): Promise<RetrainResult> {
  const mlUrl = pathToFileURL(createRequire(import.meta.url).resolve('@clutch/ml')).href;
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { mlUrl, request } });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
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
