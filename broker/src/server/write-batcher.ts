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

/** A flush at least this big keeps its gathering buffer for the next one (see `spare`). */
const KEEP_SPARE_BYTES = MAX_BATCH_BYTES / 4;

export function createWriteBatcher(socket: Duplex): WriteBatcher {
  let chunks: Buffer[] = [];
  let bytes = 0;
  let scheduled = false;
  let waiting: (() => void)[] = [];
  // A busy connection gathers its batches in one buffer it keeps, instead of a new batch-sized one
  // per flush for the GC to free: kept while the socket takes each write whole at once (nothing left
  // queued in it: the kernel has the bytes), given up when the socket holds on to it or when the
  // connection goes quiet, so an idle one (most devices) holds none.
  let spare: Buffer | null = null;
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
    const busy = bytes >= KEEP_SPARE_BYTES;
    let data: Buffer;
    if (chunks.length === 1) data = chunks[0]!;
    else if (busy) {
      spare ??= Buffer.allocUnsafeSlow(MAX_BATCH_BYTES);
      let at = 0;
      for (const chunk of chunks) at += chunk.copy(spare, at);
      data = spare.subarray(0, bytes);
    } else data = Buffer.concat(chunks, bytes);
    chunks = [];
    bytes = 0;
    if (!socket.destroyed) socket.write(data);
    if (!busy || (data.buffer === spare?.buffer && socket.writableLength !== 0)) spare = null;
  };
  return {
    add(chunk, callback) {
      // A batch never outgrows the spare: what is queued goes first when this chunk would overfill it.
      if (bytes > 0 && bytes + chunk.length > MAX_BATCH_BYTES) flush();
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
