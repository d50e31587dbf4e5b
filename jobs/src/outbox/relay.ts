import type { Database, Queryable } from '@clutch/db';
import { toEvent, type OutboxEvent, type OutboxRow, type OutboxSink } from './event.js';
import { OUTBOX_CHANNEL, type Listen } from './listen.js';

export interface OutboxRelayOptions {
  db: Database;
  /** Every event goes to each sink in this order; an event counts as delivered when all accepted it. */
  sinks: readonly OutboxSink[];
  /** Events read and marked per round. Default 100. */
  batchSize?: number;
  /**
   * Fallback poll, in ms. With `listen` a commit wakes the relay at once and this only bounds the
   * delay if a notification is lost; without it, this is the delivery delay. Default 1000.
   */
  pollMs?: number;
  /** Wake-ups at commit (listenerFor(db, url)); without it the relay polls every pollMs. */
  listen?: Listen | undefined;
  /** First wait after a sink failed, doubled per consecutive failure up to 30 s. Default 500 ms. */
  retryMs?: number;
  /** A sink refused an event (it will be delivered again), or reading the outbox failed. */
  onError?: (err: unknown, context: { sink?: string; event?: OutboxEvent }) => void;
}

export interface OutboxRelay {
  /**
   * Stops after the round in flight, waiting up to timeoutMs for it. A round still running then is
   * abandoned like a crash: nothing it delivered is marked, so the next relay delivers it again.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Wakes the relay now (tests, or a caller that knows it just committed events). */
  wake(): void;
}

const MAX_RETRY_MS = 30_000;

interface Round {
  delivered: number;
  read: number;
  failed: boolean;
}

/**
 * Delivers committed outbox events to the sinks at least once, in `seq` order, marking each
 * delivered after every sink accepted it. On PostgreSQL the batch stays row-locked (FOR UPDATE SKIP
 * LOCKED) while it is delivered, so a second relay never delivers the same event at the same time;
 * if the relay dies, its transaction rolls back and the events are delivered again. PGlite has one
 * connection, which a transaction held across delivery would block for everyone (a sink that
 * enqueues a job would wait for itself), so there the batch is read, delivered, then marked.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { db, sinks } = options;
  const batchSize = options.batchSize ?? 100;
  const pollMs = options.pollMs ?? 1000;
  const retryMs = options.retryMs ?? 500;
  const onError =
    options.onError ??
    ((err, ctx) => console.error('[outbox]', ctx.sink ?? 'read', ctx.event?.id ?? '', (err as Error)?.message));

  let stopping = false;
  // Set when stop() gives up waiting: the round in flight must then mark nothing, as after a crash.
  let abandoned = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;

  const wake = (): void => {
    woken = true;
    wakeUp?.();
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || stopping) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  // Delivers rows in order until a sink refuses one; returns the ids every sink accepted. Sinks go
  // in list order: a run of per-event sinks event by event (each event to each sink of the run), a
  // batch sink (deliverBatch) the events every earlier sink accepted, at once.
  async function deliver(rows: OutboxRow[]): Promise<{ ids: string[]; failed: boolean }> {
    let events = rows.map(toEvent);
    let failed = false;
    let i = 0;
    while (i < sinks.length && events.length > 0) {
      const sink = sinks[i]!;
      if (sink.deliverBatch) {
        try {
          await sink.deliverBatch(events);
        } catch (err) {
          onError(err, { sink: sink.name, event: events[0] });
          return { ids: [], failed: true };
        }
        i++;
        continue;
      }
      let end = i;
      while (end < sinks.length && !sinks[end]!.deliverBatch) end++;
      const run = sinks.slice(i, end);
      const accepted: OutboxEvent[] = [];
      for (const event of events) {
        for (const s of run) {
          try {
            await s.deliver(event);
          } catch (err) {
            onError(err, { sink: s.name, event });
            failed = true;
            break;
          }
        }
        if (failed) break;
        accepted.push(event);
        if (stopping) break;
      }
      events = accepted;
      i = end;
    }
    return { ids: events.map((e) => e.id), failed };
  }

  async function mark(q: Queryable, ids: string[]): Promise<void> {
    if (abandoned) throw new Abandoned();
    if (ids.length > 0)
      await q.query('UPDATE outbox_events SET delivered_at = now() WHERE id = ANY($1::uuid[])', [ids]);
  }

  const select = `SELECT id, seq, tenant_id, topic, payload, created_at FROM outbox_events
    WHERE delivered_at IS NULL ORDER BY seq LIMIT $1`;

  async function round(): Promise<Round> {
    if (db.kind === 'postgres') {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<OutboxRow>(`${select} FOR UPDATE SKIP LOCKED`, [batchSize]);
        const result = await deliver(rows);
        await mark(tx, result.ids);
        return { delivered: result.ids.length, read: rows.length, failed: result.failed };
      });
    }
    const { rows } = await db.query<OutboxRow>(select, [batchSize]);
    const result = await deliver(rows);
    await mark(db, result.ids);
    return { delivered: result.ids.length, read: rows.length, failed: result.failed };
  }

  async function run(): Promise<void> {
    let backoff = retryMs;
    while (!stopping) {
      woken = false;
      let outcome: Round;
      try {
        outcome = await round();
      } catch (err) {
        if (err instanceof Abandoned) return;
        onError(err, {});
        outcome = { delivered: 0, read: 0, failed: true };
      }
      if (stopping) return;
      if (outcome.failed) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_RETRY_MS);
        continue;
      }
      backoff = retryMs;
      // A full batch means more are probably waiting: go again without sleeping.
      if (outcome.read < batchSize) await sleep(pollMs);
    }
  }

  const unlisten = options.listen ? await options.listen(OUTBOX_CHANNEL, wake) : undefined;
  const loop = run();

  return {
    wake,
    async stop({ timeoutMs = 5000 } = {}) {
      if (stopping) return;
      stopping = true;
      wakeUp?.();
      await unlisten?.().catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([loop.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') abandoned = true;
    },
  };
}

class Abandoned extends Error {
  constructor() {
    super('outbox relay abandoned its round at stop');
  }
}
