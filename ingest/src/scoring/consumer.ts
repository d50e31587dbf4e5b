import type { Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import type { SampleRow } from '../processors/normalise.js';
import { scoreRows, storeAlerts, type ScoredAlert } from './alerts.js';

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
  /** Committed readings waiting to be scored. */
  pendingRows: number;
  /**
   * How far scoring trails the commits, ms: the age of the oldest reading waiting now, else the
   * wait of the last one scored (from its commit to its scoring).
   */
  lagMs: number;
  /** Readings never scored because scoring fell more than `maxPendingRows` behind (see below). */
  droppedRows: number;
}

export interface ScoringConsumer {
  /** Committed readings, handed over after their commit; returns at once (never holds up ingest). */
  offer(rows: readonly SampleRow[]): void;
  /** Resolves once everything offered so far is scored and its alerts stored (or their failure logged). */
  idle(): Promise<void>;
  stats(): ScoringStats;
}

export interface ScoringConsumerOptions {
  db: Database;
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
  /** Clock (tests). */
  now?: () => number;
}

interface Chunk {
  rows: readonly SampleRow[];
  committedAt: number;
}

/**
 * Real-time scoring as its own consumer of the committed readings, off the publish-to-stored path:
 * the ingest handler offers each commit's new rows and returns, so a batch is acknowledged when it
 * is stored, not when it is scored. Readings are scored in arrival order, for at most `turnBudgetMs`
 * per event-loop turn (so a backlog never stalls the broker and ingest sharing the loop), and
 * the alerts each turn raises are stored in one transaction with their `alert` outbox events.
 * Alerts are derived data: a crash loses the readings not yet scored (at most a few seconds' worth;
 * `lagMs` says how many), as it loses the scorer's in-memory windows anyway.
 */
export function createScoringConsumer(options: ScoringConsumerOptions): ScoringConsumer {
  const { db, logger } = options;
  const maxPending = options.maxPendingRows ?? 400_000;
  const slice = options.sliceRows ?? 2000;
  const budgetMs = options.turnBudgetMs ?? 8;
  const now = options.now ?? Date.now;
  const queue: Chunk[] = [];
  /** Rows of queue[0] already scored. */
  let offset = 0;
  let pending = 0;
  let running = false;
  const idleWaiters: (() => void)[] = [];
  const stats = { alerts: 0, scoredRows: 0, droppedRows: 0, lastLagMs: 0 };
  let lastDropLog = 0;

  function offer(rows: readonly SampleRow[]): void {
    if (rows.length === 0) return;
    queue.push({ rows, committedAt: now() });
    pending += rows.length;
    let dropped = 0;
    while (pending > maxPending && queue.length > 1) {
      const oldest = queue.shift()!;
      const skipped = oldest.rows.length - offset;
      offset = 0;
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
    if (!running) {
      running = true;
      setImmediate(turn);
    }
  }

  /** Takes up to `slice` waiting rows, oldest first. */
  function take(): SampleRow[] {
    const taken: SampleRow[] = [];
    while (taken.length < slice && queue.length > 0) {
      const chunk = queue[0]!;
      const end = Math.min(chunk.rows.length, offset + (slice - taken.length));
      for (let i = offset; i < end; i++) taken.push(chunk.rows[i]!);
      stats.lastLagMs = now() - chunk.committedAt;
      if (end === chunk.rows.length) {
        queue.shift();
        offset = 0;
      } else offset = end;
    }
    pending -= taken.length;
    return taken;
  }

  function turn(): void {
    const { scorer, modelVersion } = options.scorer;
    const raised: ScoredAlert[] = [];
    const started = performance.now();
    do {
      const rows = take();
      try {
        for (const alert of scoreRows(scorer, rows)) raised.push(alert);
      } catch (err) {
        logger?.error({ err: (err as Error).message }, 'scoring failed; these readings are stored, not scored');
      }
      stats.scoredRows += rows.length;
    } while (queue.length > 0 && performance.now() - started < budgetMs);
    const stored =
      raised.length === 0
        ? Promise.resolve()
        : storeAlerts(db, raised, modelVersion).then(
            (ids) => void (stats.alerts += ids.length),
            (err: Error) =>
              logger?.error({ err: err.message }, 'alerts not stored; the readings behind them are stored'),
          );
    void stored.then(() => {
      if (queue.length > 0) setImmediate(turn);
      else {
        running = false;
        for (const resolve of idleWaiters.splice(0)) resolve();
      }
    });
  }

  return {
    offer,
    idle: () => (running ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
    stats: () => ({
      alerts: stats.alerts,
      scoredRows: stats.scoredRows,
      pendingRows: pending,
      lagMs: queue.length > 0 ? now() - queue[0]!.committedAt : stats.lastLagMs,
      droppedRows: stats.droppedRows,
    }),
  };
}
