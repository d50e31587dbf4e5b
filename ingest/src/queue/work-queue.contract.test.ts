import { startRedisServer, type RedisServer } from '@clutch/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryQueue } from './memory-queue.js';
import { createRedisStreamsQueue } from './redis-streams-queue.js';
import { backoffDelay, QueueClosedError, type QueuedMessage, type WorkQueue } from './work-queue.js';

let redis: RedisServer;
let streamCounter = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await redis?.stop();
});

async function redisQueue(
  capacity: number,
  extra: { stream?: string; consumer?: string; claimIdleMs?: number } = {},
): Promise<WorkQueue> {
  const queue = await createRedisStreamsQueue({
    url: redis.url,
    stream: extra.stream ?? `contract-${streamCounter++}`,
    capacity,
    maxBatch: 3,
    retryDelayMs: () => 5,
    ...(extra.consumer ? { consumer: extra.consumer } : {}),
    ...(extra.claimIdleMs ? { claimIdleMs: extra.claimIdleMs } : {}),
  });
  cleanups.push(() => queue.close());
  return queue;
}

/**
 * Every WorkQueue implementation runs this contract. `durable` says where a hand-off is durable:
 * in-process only once committed (nothing survives the process), Redis Streams once in the stream.
 */
const implementations: [string, (capacity: number) => WorkQueue | Promise<WorkQueue>, 'commit' | 'log'][] = [
  ['in-process', (capacity) => createMemoryQueue({ capacity, maxBatch: 3, retryDelayMs: () => 5 }), 'commit'],
  ['Redis Streams', (capacity) => redisQueue(capacity), 'log'],
];

const message = (n: number): QueuedMessage => ({ topic: `t/${n}`, payload: Buffer.from(String(n)), receivedAt: n });

describe.each(implementations)('work queue contract: %s', (_name, makeQueue, durable) => {
  it('hands every message to the consumer once, in order, in batches', async () => {
    const queue = await makeQueue(100);
    const seen: string[] = [];
    queue.consume(async (batch) => {
      expect(batch.length).toBeLessThanOrEqual(3);
      seen.push(...batch.map((m) => m.topic));
    });
    for (let i = 0; i < 10; i++) await queue.enqueue(message(i));
    await queue.drain();
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `t/${i}`));
  });

  it('keeps a message whole: topic, payload bytes, receive time and MQTT 5 correlation data', async () => {
    const queue = await makeQueue(100);
    const seen: QueuedMessage[] = [];
    queue.consume(async (batch) => void seen.push(...batch));
    const binary = Buffer.from([0, 0xff, 0x80, 10]);
    await queue.enqueue({
      topic: 'a/cmd_result',
      payload: binary,
      receivedAt: 42,
      correlationData: Buffer.from('c-1'),
    });
    await queue.enqueue(message(1));
    await queue.drain();
    expect(seen.map((m) => [m.topic, m.payload.toString('hex'), m.receivedAt, m.correlationData?.toString()])).toEqual([
      ['a/cmd_result', '00ff800a', 42, 'c-1'],
      ['t/1', Buffer.from('1').toString('hex'), 1, undefined],
    ]);
  });

  it('redelivers a batch whose handler failed and acknowledges it only after success', async () => {
    const queue = await makeQueue(100);
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
    const queue = await makeQueue(2);
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

  it('regression 12.7: resolves a hand-off only once the message is durable (committed, or in the shared log)', async () => {
    const queue = await makeQueue(100);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const committed: string[] = [];
    queue.consume(async (batch) => {
      await gate;
      committed.push(...batch.map((m) => m.topic));
    });
    let durableAt: string[] | undefined;
    const handedOff = queue.handoff(message(1)).then(() => (durableAt = [...committed]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (durable === 'commit')
      expect(durableAt).toBeUndefined(); // still in the handler: not yet acknowledged
    else expect(durableAt).toEqual([]); // XADD returned: any worker can commit it, even after this one dies
    release();
    await handedOff;
    if (durable === 'commit') expect(durableAt).toEqual(['t/1']);
    await queue.drain();
  });

  it('refuses hand-offs once draining, so they are never acknowledged', async () => {
    const queue = await makeQueue(100);
    queue.consume(async () => {});
    await queue.drain();
    await expect(queue.handoff(message(1))).rejects.toBeInstanceOf(QueueClosedError);
    await expect(queue.enqueue(message(2))).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('regression 12.1: drains within its deadline while the database stays down, and drops nothing it acknowledged', async () => {
    const queue = await makeQueue(100);
    let attempts = 0;
    queue.consume(async () => {
      attempts++;
      throw new Error('database unavailable');
    });
    const outcome = queue.handoff(message(1)).then(
      () => 'durable',
      (err: Error) => err,
    );
    if (durable === 'log') expect(await outcome).toBe('durable');
    const started = Date.now();
    const result = await queue.drain(300);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.complete).toBe(false);
    expect(attempts).toBeGreaterThan(0);
    if (durable === 'commit') {
      // Never acknowledged: the hand-off rejects, so the broker closes without PUBACK and the device resends.
      expect(await outcome).toBeInstanceOf(QueueClosedError);
      const after = attempts;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(attempts).toBe(after); // no retries after the deadline
    }
  });
});

describe('backoff between retries', () => {
  it('grows exponentially up to its cap, with jitter in the upper half', () => {
    expect(backoffDelay(0, 50, 5000, () => 0)).toBe(25);
    expect(backoffDelay(0, 50, 5000, () => 1)).toBe(50);
    expect(backoffDelay(3, 50, 5000, () => 1)).toBe(400);
    expect(backoffDelay(30, 50, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(30, 50, 5000, () => 0)).toBe(2500);
  });
});

describe('Redis Streams queue across workers', () => {
  it('leaves a batch it gave up on at the drain deadline pending, for another worker to commit', async () => {
    const stream = `deadline-${streamCounter++}`;
    const stuck = await redisQueue(100, { stream, consumer: 'worker-stuck', claimIdleMs: 200 });
    stuck.consume(() => Promise.reject(new Error('database unavailable')));
    await stuck.handoff(message(7));
    expect((await stuck.drain(300)).complete).toBe(false);
    const survivor = await redisQueue(100, { stream, consumer: 'worker-next', claimIdleMs: 200 });
    const finished: string[] = [];
    survivor.consume(async (batch) => {
      finished.push(...batch.map((m) => m.topic));
    });
    await expect.poll(() => finished, { timeout: 5000 }).toEqual(['t/7']);
  });

  it('lets a live worker claim and finish the batch a dead worker held, without doubling it', async () => {
    const stream = `claim-${streamCounter++}`;
    const dying = await redisQueue(100, { stream, consumer: 'worker-a', claimIdleMs: 200 });
    for (let i = 0; i < 3; i++) await dying.enqueue(message(i));
    let dyingGot: string[] = [];
    // worker-a takes the batch and never acknowledges it: the process died mid-batch.
    dying.consume((batch) => {
      dyingGot = batch.map((m) => m.topic);
      return new Promise<void>(() => {});
    });
    await expect.poll(() => dyingGot.length).toBe(3);

    const survivor = await redisQueue(100, { stream, consumer: 'worker-b', claimIdleMs: 200 });
    const finished: string[] = [];
    survivor.consume(async (batch) => {
      finished.push(...batch.map((m) => m.topic));
    });
    await expect.poll(() => finished, { timeout: 5000 }).toEqual(['t/0', 't/1', 't/2']);
    await new Promise((r) => setTimeout(r, 400));
    expect(finished).toEqual(['t/0', 't/1', 't/2']);
  });
});
