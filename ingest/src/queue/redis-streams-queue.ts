import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { BatchHandler, QueuedMessage, WorkQueue } from './work-queue.js';

export interface RedisStreamsQueueOptions {
  url: string;
  /** Stream key; every ingest worker of a deployment uses the same one. */
  stream?: string;
  /** Consumer group shared by the workers. */
  group?: string;
  /** This worker's name in the group (unique per process). */
  consumer?: string;
  /** Stream length above which enqueue() waits (backpressure towards the broker). */
  capacity?: number;
  maxBatch?: number;
  /** A pending message idle this long belonged to a dead worker and is claimed by a live one. */
  claimIdleMs?: number;
  onError?: (err: unknown, attempt: number) => void;
  retryDelayMs?: (attempt: number) => number;
}

type StreamEntry = [id: Buffer, fields: Buffer[]];

function decode(entry: StreamEntry): { id: string; message: QueuedMessage } {
  const [id, fields] = entry;
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
  return {
    id: id.toString(),
    message: { topic: map.get('t')?.toString() ?? '', payload: map.get('p') ?? Buffer.alloc(0), receivedAt: Number(map.get('r')?.toString() ?? 0) },
  };
}

/**
 * Scale-out work queue on Redis Streams with a consumer group: N ingest workers share one stream;
 * each message is XACKed (and deleted) only after its handler committed; a worker that dies leaves
 * its messages pending, and another claims them with XAUTOCLAIM after `claimIdleMs`.
 */
export async function createRedisStreamsQueue(options: RedisStreamsQueueOptions): Promise<WorkQueue & { close(): Promise<void> }> {
  const stream = options.stream ?? 'clutch:ingest';
  const group = options.group ?? 'ingest';
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`;
  const capacity = options.capacity ?? 200_000;
  const maxBatch = options.maxBatch ?? 500;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const retryDelay = options.retryDelayMs ?? ((attempt) => Math.min(5000, 50 * 2 ** Math.min(attempt, 7)));
  // Separate connections: a blocking XREADGROUP must not hold up producers.
  const producer = new Redis(options.url, { maxRetriesPerRequest: null });
  const reader = new Redis(options.url, { maxRetriesPerRequest: null });
  // Both reconnect on their own; failures surface through the commands (and onError).
  producer.on('error', () => {});
  reader.on('error', () => {});
  try {
    await producer.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }

  let draining = false;
  let stopped = false;
  let approxDepth = 0;
  let loopDone: Promise<void> | undefined;

  async function lengthNow(): Promise<number> {
    approxDepth = await producer.xlen(stream);
    return approxDepth;
  }

  async function readBatch(): Promise<{ id: string; message: QueuedMessage }[]> {
    // Messages of dead workers first, then new ones.
    const claimed = (await reader.callBuffer('XAUTOCLAIM', stream, group, consumer, claimIdleMs, '0-0', 'COUNT', maxBatch)) as [Buffer, StreamEntry[]];
    const stale = (claimed[1] ?? []).filter((e) => e !== null && Array.isArray(e[1]));
    if (stale.length > 0) return stale.map(decode);
    const block = draining ? 50 : 1000;
    const fresh = (await reader.callBuffer('XREADGROUP', 'GROUP', group, consumer, 'COUNT', maxBatch, 'BLOCK', block, 'STREAMS', stream, '>')) as
      | [Buffer, StreamEntry[]][]
      | null;
    return fresh?.[0]?.[1].map(decode) ?? [];
  }

  async function loop(handler: BatchHandler): Promise<void> {
    while (!stopped) {
      let batch: { id: string; message: QueuedMessage }[];
      try {
        batch = await readBatch();
      } catch (err) {
        if (stopped) break;
        options.onError?.(err, 0);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (batch.length === 0) {
        if (draining && (await lengthNow()) === 0) break;
        continue;
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await handler(batch.map((b) => b.message));
          break;
        } catch (err) {
          options.onError?.(err, attempt);
          await new Promise((r) => setTimeout(r, retryDelay(attempt)));
        }
      }
      const ids = batch.map((b) => b.id);
      await producer.multi().xack(stream, group, ...ids).xdel(stream, ...ids).exec();
      approxDepth = Math.max(0, approxDepth - ids.length);
    }
  }

  return {
    async enqueue(message) {
      if (draining) throw new Error('work queue is draining; not accepting new messages');
      while (approxDepth >= capacity && (await lengthNow()) >= capacity) await new Promise((r) => setTimeout(r, 100));
      await producer.xadd(stream, '*', 't', message.topic, 'p', message.payload, 'r', String(message.receivedAt));
      approxDepth++;
    },
    consume(handler) {
      if (loopDone) throw new Error('work queue already has a consumer');
      loopDone = loop(handler);
    },
    depth: () => approxDepth,
    async drain() {
      draining = true;
      if (loopDone) await loopDone;
      stopped = true;
    },
    /** Closes the connections; a batch still in its handler stays pending for another worker to claim. */
    async close() {
      stopped = true;
      reader.disconnect();
      producer.disconnect();
    },
  };
}
