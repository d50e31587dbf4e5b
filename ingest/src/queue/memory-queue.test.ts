import { describe, expect, it } from 'vitest';
import { createMemoryQueue } from './memory-queue.js';
import { QueueClosedError, type QueuedMessage } from './work-queue.js';

const message = (n: number): QueuedMessage => ({ topic: `t/${n}`, payload: Buffer.from(String(n)), receivedAt: n });

describe('in-process work queue', () => {
  it('never holds more than its capacity, however many hand-offs wait for room', async () => {
    const queue = createMemoryQueue({ capacity: 5, maxBatch: 2, lingerMs: 0, concurrency: 1 });
    let deepest = 0;
    const handled: string[] = [];
    queue.consume(async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      deepest = Math.max(deepest, queue.depth());
      handled.push(...batch.map((m) => m.topic));
    });
    const handOffs = Array.from({ length: 40 }, (_, i) => queue.handoff(message(i)));
    const sampler = setInterval(() => (deepest = Math.max(deepest, queue.depth())), 0);
    await Promise.all(handOffs);
    clearInterval(sampler);
    await queue.drain();
    expect(deepest).toBeLessThanOrEqual(5);
    expect(handled).toEqual(Array.from({ length: 40 }, (_, i) => `t/${i}`)); // in order, each once
  });

  it('refuses, when draining starts, a hand-off still waiting for room, and stores the ones it had taken', async () => {
    const queue = createMemoryQueue({ capacity: 1, lingerMs: 0 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    queue.consume(async (batch) => {
      await gate;
      handled.push(...batch.map((m) => m.topic));
    });
    const taken = queue.handoff(message(1));
    const waiting = queue.handoff(message(2)).then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    const drained = queue.drain(5000);
    expect(await waiting).toBeInstanceOf(QueueClosedError); // never acknowledged: the device resends it
    release();
    await taken;
    expect(await drained).toEqual({ complete: true, abandoned: 0 });
    expect(handled).toEqual(['t/1']);
  });

  it('says when it holds a hand-off (before it is stored), only once there is room, and never for a refused one', async () => {
    const queue = createMemoryQueue({ capacity: 1, lingerMs: 0 });
    const gates: (() => void)[] = [];
    queue.consume(() => new Promise<void>((resolve) => gates.push(resolve)));
    const held: number[] = [];
    let firstStored = false;
    const first = queue.handoff(message(1), () => held.push(1)).then(() => (firstStored = true));
    // Held at once, though not stored: the broker may read the sender's next packets.
    expect(held).toEqual([1]);
    const second = queue.handoff(message(2), () => held.push(2));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(firstStored).toBe(false);
    expect(held).toEqual([1]); // full: the second waits for room, and so does its sender's reading
    gates.shift()!();
    await first;
    expect(held).toEqual([1, 2]);
    const third = queue.handoff(message(3), () => held.push(3)).catch((err: unknown) => err);
    const drained = queue.drain(5000);
    expect(await third).toBeInstanceOf(QueueClosedError);
    await new Promise((resolve) => setTimeout(resolve, 5));
    gates.shift()!();
    await second;
    expect(await drained).toEqual({ complete: true, abandoned: 0 });
    expect(held).toEqual([1, 2]);
  });
});
