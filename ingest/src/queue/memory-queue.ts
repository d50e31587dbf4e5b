import type { BatchHandler, QueuedMessage, WorkQueue } from './work-queue.js';

export interface MemoryQueueOptions {
  /** Messages held before enqueue() starts waiting. Bounds memory when the database is slow or down. */
  capacity?: number;
  /** Messages handed to the handler at once (one database transaction). */
  maxBatch?: number;
  /** Called when a handler fails; the batch is retried after a backoff. */
  onError?: (err: unknown, attempt: number) => void;
  retryDelayMs?: (attempt: number) => number;
}

export function createMemoryQueue(options: MemoryQueueOptions = {}): WorkQueue {
  const capacity = options.capacity ?? 20_000;
  const maxBatch = options.maxBatch ?? 500;
  const retryDelay = options.retryDelayMs ?? ((attempt) => Math.min(5000, 50 * 2 ** Math.min(attempt, 7)));
  const items: QueuedMessage[] = [];
  let inFlight = 0;
  let handler: BatchHandler | undefined;
  let wakeConsumer: (() => void) | undefined;
  const spaceWaiters: (() => void)[] = [];
  const drainWaiters: (() => void)[] = [];
  let draining = false;
  let stopped = false;

  function notifySpace(): void {
    while (spaceWaiters.length > 0 && items.length < capacity) spaceWaiters.shift()!();
  }

  function notifyDrained(): void {
    if (items.length === 0 && inFlight === 0) {
      for (const resolve of drainWaiters.splice(0)) resolve();
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      if (items.length === 0) {
        notifyDrained();
        if (draining) break;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
        wakeConsumer = undefined;
        continue;
      }
      const batch = items.slice(0, maxBatch);
      inFlight = batch.length;
      for (let attempt = 0; ; attempt++) {
        try {
          await handler!(batch);
          break;
        } catch (err) {
          options.onError?.(err, attempt);
          await new Promise((resolve) => setTimeout(resolve, retryDelay(attempt)));
        }
      }
      // Acknowledge only now: the handler committed these messages.
      items.splice(0, batch.length);
      inFlight = 0;
      notifySpace();
    }
    notifyDrained();
  }

  return {
    async enqueue(message) {
      if (draining) throw new Error('work queue is draining; not accepting new messages');
      while (items.length >= capacity) await new Promise<void>((resolve) => spaceWaiters.push(resolve));
      items.push(message);
      wakeConsumer?.();
    },
    consume(h) {
      if (handler) throw new Error('work queue already has a consumer');
      handler = h;
      void loop();
    },
    depth() {
      return items.length;
    },
    async drain() {
      draining = true;
      if (!handler || (items.length === 0 && inFlight === 0)) {
        stopped = true;
        wakeConsumer?.();
        return;
      }
      await new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        wakeConsumer?.();
      });
      stopped = true;
      wakeConsumer?.();
    },
  };
}
