import type { Database } from '@clutch/db';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SampleRow } from '../processors/normalise.js';
import { rowsToRuns, type ScoringRun } from './alerts.js';
import type { ScoringConsumer, ScoringStats } from './consumer.js';
import { HEALTH_CHECKS_ONLY } from './model-slot.js';
import { databaseScoringStore } from './store.js';
import type { FromThread, OfferMessage, ScoringThreadData, ThreadStats, ToThread } from './thread-protocol.js';

export interface ThreadedScoringOptions {
  db: Database;
  logger?: Logger | undefined;
  /** The model registry to score with (watched every `watchMs`, default 5 s); absent: the health checks alone. */
  modelsDir?: string | undefined;
  watchMs?: number;
  /** As createScoringConsumer's (consumer.ts). */
  maxPendingRows?: number;
  turnBudgetMs?: number;
  saveNormalsEveryMs?: number;
  /** A thread that ended unasked is started again after this long (default 1 s). */
  restartDelayMs?: number;
}

export interface ThreadedScoring extends ScoringConsumer {
  /** The model version the thread scores with now. */
  modelVersion(): string;
  /** Has the thread read the model registry now (it also does every watchMs). */
  refresh(): Promise<void>;
  /** Ends the thread; call after idle() (ingest's stop waits for it) or what it had is lost. */
  close(): Promise<void>;
}

const NO_STATS: ThreadStats = {
  alerts: 0,
  scoredRows: 0,
  pendingRows: 0,
  lagMs: 0,
  droppedRows: 0,
  normalsLoaded: 0,
  normalsSaved: 0,
  implausibleSamples: 0,
  received: 0,
};

/** The scoring thread's module, from the build (tests run on the sources, whose build `npm test` makes first). */
const workerUrl = (): string => createRequire(import.meta.url).resolve('@clutch/ingest/scoring-worker');

/**
 * Real-time scoring on a thread of its own: the scoring consumer (consumer.ts) and the model slot
 * (model-slot.ts) run there, so scoring a fleet takes no time from the event loop that the broker
 * and ingest's transactions share. Each commit's readings cross as columns whose memory moves to
 * the thread (no copy), with one vehicle id per run of readings. The database stays on this thread:
 * the scoring thread asks it to read and write normals and to store alerts (store.ts), each ask
 * one transaction here, as in the consumer on this thread.
 *
 * A thread that fails is started again (after `restartDelayMs`): like a process restart, it loses
 * its readings not yet scored (counted as dropped) and its in-memory windows, and starts each
 * vehicle from its stored normal.
 */
export async function startThreadedScoring(options: ThreadedScoringOptions): Promise<ThreadedScoring> {
  const { logger } = options;
  const store = databaseScoringStore(options.db);
  const data: ScoringThreadData = {
    watchMs: options.watchMs ?? 5000,
    ...(options.modelsDir === undefined ? {} : { modelsDir: options.modelsDir }),
    ...(options.maxPendingRows === undefined ? {} : { maxPendingRows: options.maxPendingRows }),
    ...(options.turnBudgetMs === undefined ? {} : { turnBudgetMs: options.turnBudgetMs }),
    ...(options.saveNormalsEveryMs === undefined ? {} : { saveNormalsEveryMs: options.saveNormalsEveryMs }),
  };
  let worker: Worker;
  let closing = false;
  let modelVersion = HEALTH_CHECKS_ONLY;
  /** The current thread's last counts, and what earlier threads (that failed) had counted. */
  let thread: ThreadStats = NO_STATS;
  let before: ScoringStats = NO_STATS;
  /** Readings offered to the current thread. */
  let offered = 0;
  let lastAsk = 0;
  const asks = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  function answer(id: number, reply: Promise<unknown>): void {
    reply.then(
      (value) => worker.postMessage({ t: 'reply', id, ok: true, value } satisfies ToThread),
      (err: Error) => worker.postMessage({ t: 'reply', id, ok: false, message: err.message } satisfies ToThread),
    );
  }

  function onMessage(message: FromThread): void {
    switch (message.t) {
      case 'stats':
        thread = message.stats;
        modelVersion = message.modelVersion;
        return;
      case 'call': {
        const op = store[message.op] as (...args: unknown[]) => Promise<unknown>;
        return answer(message.id, op(...message.args));
      }
      case 'log':
        logger?.[message.level](message.fields, message.message);
        return;
      case 'done': {
        const ask = asks.get(message.id);
        asks.delete(message.id);
        if (message.ok) ask?.resolve();
        else ask?.reject(new Error(message.message));
        return;
      }
      case 'ready':
        modelVersion = message.modelVersion;
        return;
    }
  }

  /** Starts a thread; resolves once it has read the model registry and takes readings. */
  function spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl(), { workerData: data });
      worker = w;
      offered = 0;
      thread = NO_STATS;
      let ready = false;
      w.on('message', (message: FromThread) => {
        if (message.t === 'ready' && !ready) {
          ready = true;
          resolve();
        }
        onMessage(message);
      });
      w.on('error', (err) => {
        logger?.error({ err: err.message }, 'scoring thread failed');
        if (!ready) reject(err);
      });
      w.on('exit', (code) => {
        if (worker !== w) return;
        // What it held is lost: counted once, as the consumer counts readings it skips.
        const lost = offered - thread.received + thread.pendingRows;
        before = {
          ...sum(before, thread),
          droppedRows: before.droppedRows + thread.droppedRows + Math.max(0, lost),
          pendingRows: 0,
        };
        thread = NO_STATS;
        offered = 0;
        for (const ask of asks.values()) ask.resolve();
        asks.clear();
        if (closing || !ready) return;
        logger?.error({ code, lost }, 'scoring thread ended; starting another (its readings not yet scored are lost)');
        setTimeout(() => {
          if (!closing)
            spawn().catch((err: Error) => logger?.error({ err: err.message }, 'scoring thread did not start'));
        }, options.restartDelayMs ?? 1000).unref();
      });
    });
  }

  function ask(t: 'idle' | 'refresh'): Promise<void> {
    if (closing) return Promise.resolve();
    const id = ++lastAsk;
    return new Promise<void>((resolve, reject) => {
      asks.set(id, { resolve, reject });
      worker.postMessage({ t, id } satisfies ToThread);
    });
  }

  function offerRuns(runs: ScoringRun[], rows: number): void {
    if (rows === 0 || runs.length === 0) return;
    if (closing) {
      // Stored, never to be scored: counted, as the consumer counts readings it skips.
      before = { ...before, droppedRows: before.droppedRows + rows };
      return;
    }
    const columns = runs[0]!.columns;
    const bounds = new Int32Array(runs.length * 2);
    const vehicles: string[] = [];
    const tenants: string[] = [];
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (run.columns !== columns) throw new TypeError('offerRuns: the runs of one offer share one set of columns');
      bounds[2 * i] = run.start;
      bounds[2 * i + 1] = run.end;
      vehicles.push(run.vehicleId);
      tenants.push(run.tenantId);
    }
    const message: OfferMessage = { t: 'offer', ...columns, vehicles, tenants, bounds, rows };
    offered += rows;
    // The columns move to the thread: this side never reads them again.
    const moved = [columns.feature.buffer, columns.time.buffer, columns.value.buffer, bounds.buffer] as ArrayBuffer[];
    worker.postMessage(message, moved);
  }

  await spawn();
  worker!.unref();
  return {
    offer: (rows: readonly SampleRow[]) => {
      if (rows.length > 0) offerRuns(rowsToRuns(rows), rows.length);
    },
    offerRuns,
    idle: () => ask('idle'),
    refresh: () => ask('refresh'),
    modelVersion: () => modelVersion,
    stats: (): ScoringStats => {
      const now = sum(before, thread);
      return { ...now, pendingRows: thread.pendingRows + Math.max(0, offered - thread.received), lagMs: thread.lagMs };
    },
    async close() {
      closing = true;
      await worker.terminate();
    },
  };
}

function sum(a: ScoringStats, b: ScoringStats): ScoringStats {
  return {
    alerts: a.alerts + b.alerts,
    scoredRows: a.scoredRows + b.scoredRows,
    pendingRows: a.pendingRows + b.pendingRows,
    lagMs: b.lagMs,
    droppedRows: a.droppedRows + b.droppedRows,
    normalsLoaded: a.normalsLoaded + b.normalsLoaded,
    normalsSaved: a.normalsSaved + b.normalsSaved,
    implausibleSamples: a.implausibleSamples + b.implausibleSamples,
  };
}
