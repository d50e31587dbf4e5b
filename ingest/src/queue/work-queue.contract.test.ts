import { describe, expect, it } from 'vitest';
import { createMemoryQueue } from './memory-queue.js';
import type { QueuedMessage, WorkQueue } from './work-queue.js';

// Every WorkQueue implementation runs this contract (the Redis Streams one joins it when it lands).
const implementations: [string, (capacity: number) => WorkQueue][] = [
  ['in-process', (capacity) => createMemoryQueue({ capacity, maxBatch: 3, retryDelayMs: () => 5 })],
];

const message = (n: number): QueuedMessage => ({ topic: `t/${n}`, payload: Buffer.from(String(n)), receivedAt: n });

describe.each(implementations)('work queue contract: %s', (_name, makeQueue) => {
  it('hands every message to the consumer once, in order, in batches', async () => {
    const queue = makeQueue(100);
    const seen: string[] = [];
    queue.consume(async (batch) => {
      expect(batch.length).toBeLessThanOrEqual(3);
      seen.push(...batch.map((m) => m.topic));
    });
    for (let i = 0; i < 10; i++) await queue.enqueue(message(i));
    await queue.drain();
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `t/${i}`));
  });

  it('redelivers a batch whose handler failed and acknowledges it only after success', async () => {
    const queue = makeQueue(100);
    let failures = 2;
    const committed: string[] = [];
    queue.consume(async (batch) => {
      if (failures-- > 0) throw new Error('database unavailable');
      committed.push(...batch.map((m) => m.topic));
    });
    await queue.enqueue(message(1));
    await queue.enqueue(message(2));
    await queue.drain();
    expect(committed).toEqual(['t/1', 't/2']);
    expect(queue.depth()).toBe(0);
  });

  it('makes producers wait when full instead of dropping or growing without bound', async () => {
    const queue = makeQueue(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    queue.consume(async (batch) => {
      await gate;
      handled.push(...batch.map((m) => m.topic));
    });
    await queue.enqueue(message(1));
    await queue.enqueue(message(2));
    let thirdAccepted = false;
    const third = queue.enqueue(message(3)).then(() => (thirdAccepted = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(thirdAccepted).toBe(false);
    expect(queue.depth()).toBe(2);
    release();
    await third;
    await queue.drain();
    expect(handled).toEqual(['t/1', 't/2', 't/3']);
  });
});
