// The scoring thread (threaded.ts starts it): the scoring consumer and the model slot, with the
// database reached through the owning thread. Loaded as its own module entry, from the build
// (package export `@clutch/ingest/scoring-worker`).
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ScoringRun } from './alerts.js';
import { createScoringConsumer } from './consumer.js';
import { startModelSlot } from './model-slot.js';
import type { ScoringStore } from './store.js';
import type { FromThread, OfferMessage, ScoringThreadData, StoreCall, ToThread } from './thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('the scoring worker runs on a worker thread (threaded.ts)');
const data = workerData as ScoringThreadData;
const post = (message: FromThread): void => port.postMessage(message);

const calls = new Map<number, { resolve: (value: never) => void; reject: (err: Error) => void }>();
let lastCall = 0;
function call<T>(request: StoreCall): Promise<T> {
  const id = ++lastCall;
  return new Promise<T>((resolve, reject) => {
    calls.set(id, { resolve: resolve as (value: never) => void, reject });
    post({ t: 'call', id, ...request });
  });
}

const store: ScoringStore = {
  loadNormals: (vehicleIds) => call({ op: 'loadNormals', args: [vehicleIds] }),
  saveNormals: (entries, modelVersion) => call({ op: 'saveNormals', args: [entries, modelVersion] }),
  storeAlerts: (raised, modelVersion) => call({ op: 'storeAlerts', args: [raised, modelVersion] }),
};

// The consumer and the slot log through the owning thread's logger (one log stream per process).
const forward =
  (level: 'info' | 'warn' | 'error') =>
  (fields: object, message: string): void =>
    post({ t: 'log', level, fields, message });
const logger = { info: forward('info'), warn: forward('warn'), error: forward('error') } as unknown as Logger;

let received = 0;
let lastReport = '';
const models = await startModelSlot(
  { modelsDir: data.modelsDir, watchMs: data.watchMs, onSwap: () => report(true) },
  logger,
);
const consumer = createScoringConsumer({
  store,
  scorer: models.slot,
  logger,
  ...(data.maxPendingRows === undefined ? {} : { maxPendingRows: data.maxPendingRows }),
  ...(data.turnBudgetMs === undefined ? {} : { turnBudgetMs: data.turnBudgetMs }),
  ...(data.saveNormalsEveryMs === undefined ? {} : { saveNormalsEveryMs: data.saveNormalsEveryMs }),
});

/** Sends the counts when they changed (or `always`): the owner answers stats() from the last ones. */
function report(always = false): void {
  const stats = { ...consumer.stats(), received };
  const text = `${models.slot.modelVersion}|${JSON.stringify(stats)}`;
  if (!always && text === lastReport) return;
  lastReport = text;
  post({ t: 'stats', stats, modelVersion: models.slot.modelVersion });
}
// Often enough that a caller polling stats() sees scoring catch up within a tenth of a second.
setInterval(report, 100);

function offer(message: OfferMessage): void {
  const columns = { feature: message.feature, time: message.time, value: message.value };
  const runs: ScoringRun[] = [];
  for (let i = 0; i < message.vehicles.length; i++)
    runs.push({
      columns,
      start: message.bounds[2 * i]!,
      end: message.bounds[2 * i + 1]!,
      vehicleId: message.vehicles[i]!,
      tenantId: message.tenants[i]!,
    });
  received += message.rows;
  consumer.offerRuns(runs, message.rows);
}

function settle(id: number, work: Promise<unknown>): void {
  work.then(
    () => {
      report(true);
      post({ t: 'done', id, ok: true });
    },
    (err: Error) => post({ t: 'done', id, ok: false, message: err.message }),
  );
}

port.on('message', (message: ToThread) => {
  switch (message.t) {
    case 'offer':
      return offer(message);
    case 'idle':
      return settle(message.id, consumer.idle());
    case 'refresh':
      return settle(message.id, models.refresh());
    case 'reply': {
      const pending = calls.get(message.id);
      calls.delete(message.id);
      if (message.ok) pending?.resolve(message.value as never);
      else pending?.reject(new Error(message.message));
      return;
    }
  }
});
post({ t: 'ready', modelVersion: models.slot.modelVersion });
