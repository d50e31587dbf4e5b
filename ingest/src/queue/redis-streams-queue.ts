import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import {
  backoffDelay,
  DEFAULT_DRAIN_TIMEOUT_MS,
  QueueClosedError,
  type BatchHandler,
  type QueuedMessage,
  type WorkQueue,
} from './work-queue.js';

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
    message: {
      topic: map.get('t')?.toString() ?? '',
      payload: map.get('p') ?? Buffer.alloc(0),
      receivedAt: Number(map.get('r')?.toString() ?? 0),
      ...(map.has('c') ? { correlationData: map.get('c')! } : {}),
    },
  };
}

/**
 * Scale-out work queue on Redis Streams with a consumer group: N ingest workers share one stream;
 * each message is XACKed (and deleted) only after its handler committed; a worker that dies leaves
 * its messages pending, and another claims them with XAUTOCLAIM after `claimIdleMs`.
 */
export async function createRedisStreamsQueue(
  options: RedisStreamsQueueOptions,
): Promise<WorkQueue & { close(): Promise<void> }> {
  const stream = options.stream ?? 'clutch:ingest';
  const group = options.group ?? 'ingest';
  const consumer = options.consumer ?? `${hostname()}-${process.pid}`;
  const capacity = options.capacity ?? 200_000;
  const maxBatch = options.maxBatch ?? 500;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const retryDelay = options.retryDelayMs ?? ((attempt: number) => backoffDelay(attempt));
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

  const sleepers = new Set<() => void>();
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cut = (): void => {
        clearTimeout(timer);
        sleepers.delete(cut);
        resolve();
      };
      const timer = setTimeout(cut, ms);
      sleepers.add(cut);
    });
  }

  async function lengthNow(): Promise<number> {
    approxDepth = await producer.xlen(stream);
    return approxDepth;
  }

  async function readBatch(): Promise<{ id: string; message: QueuedMessage }[]> {
    // Messages of dead workers first, then new ones.
    const claimed = (await reader.callBuffer(
      'XAUTOCLAIM',
      stream,
      group,
      consumer,
      claimIdleMs,
      '0-0',
      'COUNT',
      maxBatch,
    )) as [Buffer, StreamEntry[]];
    const stale = (claimed[1] ?? []).filter((e) => e !== null && Array.isArray(e[1]));
    if (stale.length > 0) return stale.map(decode);
    const block = draining ? 50 : 1000;
    const fresh = (await reader.callBuffer(
      'XREADGROUP',
      'GROUP',
      group,
      consumer,
      'COUNT',
      maxBatch,
      'BLOCK',
      block,
      'STREAMS',
      stream,
      '>',
    )) as [Buffer, StreamEntry[]][] | null;
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
      let handled = false;
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await handler(batch.map((b) => b.message));
          handled = true;
          break;
        } catch (err) {
          options.onError?.(err, attempt);
          await sleep(retryDelay(attempt));
        }
      }
      // Stopped at the drain deadline: the batch stays pending in the stream for another worker
      // (or this one after a restart) to claim. Nothing is lost; nothing was acknowledged.
      if (!handled) break;
      const ids = batch.map((b) => b.id);
      await producer
        .multi()
        .xack(stream, group, ...ids)
        .xdel(stream, ...ids)
        .exec();
      approxDepth = Math.max(0, approxDepth - ids.length);
    }
  }

  async function append(message: QueuedMessage): Promise<void> {
    if (draining) throw new QueueClosedError();
    while (approxDepth >= capacity && (await lengthNow()) >= capacity) {
      await sleep(100);
      if (draining) throw new QueueClosedError();
    }
    // Durable from here on (as durable as the Redis deployment's AOF policy): every worker can read it.
    const fields: (string | Buffer)[] = ['t', message.topic, 'p', message.payload, 'r', String(message.receivedAt)];
    // A command result names its command by its MQTT 5 correlation data too: validation compares both.
    if (message.correlationData) fields.push('c', message.correlationData);
    await producer.xadd(stream, '*', ...fields);
    approxDepth++;
  }

  return {
    enqueue: append,
    // The stream is the durable log: a message is safe once XADD returned, whichever worker commits it.
    handoff: append,
    consume(handler) {
      if (loopDone) throw new Error('work queue already has a consumer');
      loopDone = loop(handler);
    },
    depth: () => approxDepth,
    async drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS) {
      draining = true;
      let timer: NodeJS.Timeout | undefined;
      const finished = loopDone
        ? await Promise.race([
            loopDone.then(() => true),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
          ])
        : true;
      clearTimeout(timer);
      stopped = true;
      for (const cut of [...sleepers]) cut();
      // A batch still in its handler stays pending in the stream (not XACKed): not lost, only not ours.
      return finished ? { complete: true, abandoned: 0 } : { complete: false, abandoned: approxDepth };
    },
    /** Closes the connections; a batch still in its handler stays pending for another worker to claim. */
    async close() {
      stopped = true;
      for (const cut of [...sleepers]) cut();
      reader.disconnect();
      producer.disconnect();
    },
  };
}
