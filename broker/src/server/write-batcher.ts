import type { Duplex } from 'node:stream';

/** A batch is written at once past this size, which bounds the copy and the bytes held back. */
export const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Gathers what aedes writes to one connection during a turn of the event loop and writes it as one
 * buffer when the turn ends (setImmediate). aedes writes every packet from its own setImmediate
 * callback, and Node runs process.nextTick after each of those, so a per-tick cork still made one
 * syscall per delivered packet: a quarter of the broker's CPU in a profile under load. Batched, a
 * subscriber receiving a burst gets it in one write, at most one loop turn later.
 */
export interface WriteBatcher {
  /**
   * Queues a chunk. `callback` runs at once while the socket keeps up, and on its 'drain' when it
   * is over its buffer size, so the writer above sees the backpressure.
   */
  add(chunk: Buffer, callback?: () => void): void;
  /** Writes what is queued now (before the socket ends). */
  flush(): void;
}

export function createWriteBatcher(socket: Duplex): WriteBatcher {
  let chunks: Buffer[] = [];
  let bytes = 0;
  let scheduled = false;
  let waiting: (() => void)[] = [];
  const release = (): void => {
    const ready = waiting;
    waiting = [];
    for (const callback of ready) callback();
  };
  socket.on('drain', release);
  // Nothing more will drain: let the writer's callbacks go, its stream is being destroyed anyway.
  socket.once('close', release);
  const flush = (): void => {
    scheduled = false;
    if (bytes === 0) return;
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    chunks = [];
    bytes = 0;
    if (!socket.destroyed) socket.write(data);
  };
  return {
    add(chunk, callback) {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= MAX_BATCH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      if (!callback) return;
      if (socket.writableNeedDrain && !socket.destroyed) waiting.push(callback);
      else callback();
    },
    flush,
  };
}

/**
 * Sends `stream.write` straight to the batcher. aedes (through mqtt-packet) writes each packet as
 * five or six small chunks; Writable's per-chunk bookkeeping (then its writev) cost more than the
 * rest of the write path together. The return value and 'drain' keep Writable's meaning: false
 * while the socket is over its buffer size, 'drain' on the stream once it is not.
 */
export function writeStraightThrough(stream: Duplex, writes: WriteBatcher, socket: Duplex): void {
  let owesDrain = false;
  socket.on('drain', () => {
    if (!owesDrain) return;
    owesDrain = false;
    stream.emit('drain');
  });
  const write = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (stream.destroyed || stream.writableEnded) {
      if (typeof done === 'function') process.nextTick(done, new Error('write after the connection ended'));
      return false;
    }
    writes.add(
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : (chunk as Buffer),
    );
    if (typeof done === 'function') process.nextTick(done);
    if (!socket.writableNeedDrain) return true;
    owesDrain = true;
    return false;
  };
  stream.write = write as Duplex['write'];
  // mqtt-packet corks the stream for every packet it writes and uncorks it on the next tick
  // (`if (stream.cork)`). With write() going straight to the batcher that buys nothing and costs a
  // tick and two calls per packet; nothing else corks this stream.
  (stream as { cork?: Duplex['cork'] }).cork = undefined;
}
