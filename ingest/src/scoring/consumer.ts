import type { Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import { createNormalsKeeper } from '../normals/keeper.js';
import type { SampleRow } from '../processors/normalise.js';
import { rowsToRuns, scoreRuns, type ScoredAlert, type ScoringRun } from './alerts.js';
import { databaseScoringStore, type ScoringStore } from './store.js';

/** What scoring uses; both fields are read at each turn, so replacing them swaps the model (platform/src/builders/scoring.ts). */
export interface ScorerSlot {
  scorer: OnlineScorer;
  modelVersion: string | null;
}

export interface ScoringStats {
  /** Alerts stored (each also went to the outbox in its transaction). */
  alerts: number;
  /** Committed readings handed to the scorer so far (a scorer that threw on them is logged). */
  scoredRows: number;
  /** Committed readings waiting to be scored (those waiting for their vehicle's stored normal included). */
  pendingRows: number;
  /**
   * How far scoring trails the commits, ms: the age of the oldest reading waiting now, else the
   * wait of the last one scored (from its commit to its scoring).
   */
  lagMs: number;
  /**
   * Readings never scored because scoring fell more than `maxPendingRows` behind (see below), or
   * because their vehicle's stored normal could not be read.
   */
  droppedRows: number;
  /** Vehicles started from their stored normal (issue 19), rather than calibrating from nothing. */
  normalsLoaded: number;
  /** Vehicle normals written to `vehicle_normals` (a vehicle counts once per save). */
  normalsSaved: number;
  /**
   * Single implausible samples the scorer filtered out before any check saw them (a logger's
   * glitch, not a vehicle fault). Counted only: `data_quality_events` records what a device's
   * batches lost, per device, and these are per signal of a vehicle.
   */
  implausibleSamples: number;
}

export interface ScoringConsumer {
  /** Committed readings, handed over after their commit; returns at once (never holds up ingest). */
  offer(rows: readonly SampleRow[]): void;
  /** offer() for readings already as columns and runs (alerts.ts rowsToRuns), `rows` readings in all. */
  offerRuns(runs: ScoringRun[], rows: number): void;
  /**
   * Resolves once everything offered so far is scored, its alerts stored (or their failure logged)
   * and the vehicles' changed normals written: ingest's stop waits for it.
   */
  idle(): Promise<void>;
  stats(): ScoringStats;
}

export interface ScoringConsumerOptions {
  /** Where normals and alerts go: `store` when given (threaded.ts), else the database. */
  db?: Database;
  store?: ScoringStore;
  scorer: ScorerSlot;
  logger?: Logger | undefined;
  /**
   * Readings held for scoring at most (default 400,000: two seconds of 10,000 cars x 20 signals).
   * Scoring is derived data and must never backpressure storage: past this, the oldest waiting
   * readings are skipped (counted in `droppedRows`, logged) rather than the queue held.
   */
  maxPendingRows?: number;
  /** Readings scored between two looks at the clock (default 2,000). */
  sliceRows?: number;
  /**
   * Time one turn of the event loop may score for before it yields to I/O (default 8 ms). A budget
   * in time, not rows: under load the loop turns less often, and a fixed number of rows per turn
   * would then let scoring fall ever further behind.
   */
  turnBudgetMs?: number;
  /**
   * How often the vehicles' changed normals are written while scoring runs (default 60 s; also on
   * idle()). A crash loses at most this much of what the cars taught the scorer.
   */
  saveNormalsEveryMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** One offer's readings, as columns (alerts.ts rowsToRuns): the rows themselves are not kept. */
interface Chunk {
  runs: ScoringRun[];
  rows: number;
  committedAt: number;
}

function scoringStoreOf(options: ScoringConsumerOptions): ScoringStore {
  if (options.store) return options.store;
  if (options.db) return databaseScoringStore(options.db);
  throw new TypeError('createScoringConsumer needs a database or a scoring store');
}

/**
 * Real-time scoring as its own consumer of the committed readings, off the publish-to-stored path:
 * the ingest handler offers each commit's new rows and returns, so a batch is acknowledged when it
 * is stored, not when it is scored. Readings are scored in arrival order, for at most `turnBudgetMs`
 * per event-loop turn (so a backlog never stalls the broker and ingest sharing the loop), and
 * the alerts each turn raises are stored in one transaction with their `alert` outbox events.
 * Alerts are derived data: a crash loses the readings not yet scored (at most a few seconds' worth;
 * `lagMs` says how many), as it loses the scorer's in-memory windows anyway.
 *
 * What each vehicle's normal learned is not: a vehicle new to the scorer is started from its stored
 * normal before its first readings are scored (its readings wait for that one query, other
 * vehicles' do not), and changed normals are written back every `saveNormalsEveryMs` and on idle()
 * (normals/keeper.ts). A newly deployed scorer in the slot is seeded with every vehicle's normal.
 */
export function createScoringConsumer(options: ScoringConsumerOptions): ScoringConsumer {
  const { logger } = options;
  const store = scoringStoreOf(options);
  const maxPending = options.maxPendingRows ?? 400_000;
  const slice = options.sliceRows ?? 2000;
  const budgetMs = options.turnBudgetMs ?? 8;
  const now = options.now ?? Date.now;
  const queue: Chunk[] = [];
  /** Runs of queue[0] already scored, and readings of the next one. */
  let runOffset = 0;
  let offset = 0;
  /** Readings of queue[0] already scored. */
  let chunkTaken = 0;
  let pending = 0;
  let running = false;
  const idleWaiters: (() => void)[] = [];
  const stats = { alerts: 0, scoredRows: 0, droppedRows: 0, lastLagMs: 0, implausibleSamples: 0 };
  let lastDropLog = 0;
  const normals = createNormalsKeeper<ScoringRun>({
    store,
    logger,
    saveEveryMs: options.saveNormalsEveryMs,
    now,
    onSettled: () => {
      if (normals.hasReleased()) kick();
      else settle();
    },
  });

  function kick(): void {
    if (running) return;
    running = true;
    setImmediate(turn);
  }

  /** Wakes idle() callers once nothing is being scored nor waiting for a stored normal. */
  function settle(): void {
    if (running || normals.busy()) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  function offer(rows: readonly SampleRow[]): void {
    if (rows.length > 0) offerRuns(rowsToRuns(rows), rows.length);
  }

  function offerRuns(runs: ScoringRun[], rows: number): void {
    if (rows === 0) return;
    queue.push({ runs, rows, committedAt: now() });
    pending += rows;
    let dropped = 0;
    while (pending > maxPending && queue.length > 1) {
      const oldest = queue.shift()!;
      const skipped = oldest.rows - chunkTaken;
      runOffset = 0;
      offset = 0;
      chunkTaken = 0;
      pending -= skipped;
      dropped += skipped;
    }
    if (dropped > 0) {
      stats.droppedRows += dropped;
      if (now() - lastDropLog > 10_000) {
        lastDropLog = now();
        logger?.warn(
          { dropped: stats.droppedRows, pending },
          'scoring fell behind; the oldest readings were stored but not scored',
        );
      }
    }
    kick();
  }

  /** Takes up to `slice` waiting readings, oldest first (a run the slice ends in is split). */
  function take(): ScoringRun[] {
    const taken: ScoringRun[] = [];
    let count = 0;
    while (count < slice && queue.length > 0) {
      const chunk = queue[0]!;
      while (count < slice && runOffset < chunk.runs.length) {
        const run = chunk.runs[runOffset]!;
        const start = run.start + offset;
        const end = Math.min(run.end, start + (slice - count));
        taken.push(start === run.start && end === run.end ? run : { ...run, start, end });
        count += end - start;
        chunkTaken += end - start;
        if (end === run.end) {
          runOffset++;
          offset = 0;
        } else offset = end - run.start;
      }
      stats.lastLagMs = now() - chunk.committedAt;
      if (runOffset === chunk.runs.length) {
        queue.shift();
        runOffset = 0;
        offset = 0;
        chunkTaken = 0;
      }
    }
    pending -= count;
    return taken;
  }

  function score(scorer: OnlineScorer, runs: readonly ScoringRun[], raised: ScoredAlert[]): void {
    if (runs.length === 0) return;
    let readings = 0;
    for (const run of runs) readings += run.end - run.start;
    try {
      for (const alert of scoreRuns(scorer, runs)) raised.push(alert);
    } catch (err) {
      logger?.error({ err: (err as Error).message }, 'scoring failed; these readings are stored, not scored');
    }
    stats.scoredRows += readings;
  }

  function turn(): void {
    const { scorer, modelVersion } = options.scorer;
    const raised: ScoredAlert[] = [];
    const started = performance.now();
    try {
      normals.adopt(scorer);
      // Readings that waited for their vehicle's stored normal go first: they are the oldest.
      score(scorer, normals.released(), raised);
      while (queue.length > 0) {
        score(scorer, normals.admit(scorer, take()), raised);
        if (performance.now() - started >= budgetMs) break;
      }
      for (const finding of scorer.takeDataQuality()) stats.implausibleSamples += finding.filtered;
      normals.afterTurn(scorer, modelVersion);
    } catch (err) {
      // Outside scoreRuns (a scorer's normals); the turn must still end, or idle() would never resolve.
      logger?.error({ err: (err as Error).message }, 'scoring turn failed; its readings are stored, not scored');
    }
    const stored =
      raised.length === 0
        ? Promise.resolve()
        : store.storeAlerts(raised, modelVersion).then(
            (ids) => void (stats.alerts += ids.length),
            (err: Error) =>
              logger?.error({ err: err.message }, 'alerts not stored; the readings behind them are stored'),
          );
    void stored.then(() => {
      if (queue.length > 0 || normals.hasReleased()) setImmediate(turn);
      else {
        running = false;
        settle();
      }
    });
  }

  async function idle(): Promise<void> {
    while (running || normals.busy()) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    await normals.flush(options.scorer.modelVersion);
  }

  return {
    offer,
    offerRuns,
    idle,
    stats: () => {
      const kept = normals.stats();
      return {
        alerts: stats.alerts,
        scoredRows: stats.scoredRows,
        pendingRows: pending + normals.waitingRows(),
        lagMs: queue.length > 0 ? now() - queue[0]!.committedAt : stats.lastLagMs,
        droppedRows: stats.droppedRows + kept.droppedRows,
        normalsLoaded: kept.normalsLoaded,
        normalsSaved: kept.normalsSaved,
        implausibleSamples: stats.implausibleSamples,
      };
    },
  };
}
