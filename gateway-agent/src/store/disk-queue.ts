// Store-and-forward queue (DESIGN §5): every batch is on disk before it is sent and leaves only on PUBACK.
//
// Layout: one file per batch, `<seq as 16 digits>.json`, in `dir`. One file per batch keeps recovery
// trivial: a batch is either fully there or not there at all.
//
// fsync policy (crash safety):
//  - a batch is written to `<name>.tmp`, fsync'd, renamed to its final name, then the directory is
//    fsync'd. A power cut leaves either no file or the whole file; a leftover `.tmp` is deleted on open.
//  - removal after PUBACK is a plain unlink without fsync: if the unlink is lost in a power cut the
//    batch is sent once more after restart, and ingest drops the repeat (same seq, same sample times,
//    primary key (vehicle, signal, time)). Losing an unlink costs a duplicate send, never data.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { agentError } from '../errors.js';

export const DEFAULT_QUEUE_MAX_BYTES = 256 * 1024 * 1024;

export interface QueuedBatch {
  readonly seq: number;
  readonly bytes: number;
}

export interface DiskQueueStats {
  readonly batches: number;
  readonly bytes: number;
  /** Batches removed unsent because the queue exceeded maxBytes (oldest first). */
  readonly dropped: number;
  readonly droppedBytes: number;
}

const NAME = /^(\d{16})\.json$/;

function fileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.json`;
}

/** Writes `data` to `file` so that after a crash the file is either absent or complete. */
export function writeFileDurable(file: string, data: string | Uint8Array, fsync = true): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  if (fsync) fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  // The rename is durable only once the directory entry is; Linux allows fsync on a read-only dir fd.
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface DiskQueueOptions {
  readonly dir: string;
  readonly maxBytes?: number;
  /** false only for benchmarks/tests on tmpfs; production keeps the default (true). */
  readonly fsync?: boolean;
  readonly logger?: Logger;
}

/** A bounded, crash-safe FIFO of serialized batches keyed by their seq. Synchronous: one writer. */
export class DiskQueue {
  private readonly entries = new Map<number, number>(); // seq -> bytes, insertion = seq order
  private totalBytes = 0;
  private droppedCount = 0;
  private droppedBytesTotal = 0;
  readonly maxBytes: number;
  private readonly fsync: boolean;

  constructor(private readonly options: DiskQueueOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_QUEUE_MAX_BYTES;
    this.fsync = options.fsync ?? true;
    mkdirSync(options.dir, { recursive: true });
    const found: QueuedBatch[] = [];
    for (const name of readdirSync(options.dir)) {
      const file = path.join(options.dir, name);
      if (name.endsWith('.tmp')) {
        // An interrupted write: its batch was never acknowledged as queued, and the journal still has it.
        unlinkSync(file);
        continue;
      }
      const m = NAME.exec(name);
      if (m) found.push({ seq: Number(m[1]), bytes: statSync(file).size });
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const b of found) {
      this.entries.set(b.seq, b.bytes);
      this.totalBytes += b.bytes;
    }
    if (found.length > 0)
      options.logger?.info({ batches: found.length, bytes: this.totalBytes }, 'disk queue recovered');
  }

  /** Appends a batch durably, then drops the oldest batches if the queue is over its byte bound. */
  append(seq: number, payload: string): void {
    if (this.entries.has(seq)) throw agentError('QUEUE_SEQ_EXISTS', `seq ${seq}`, { seq });
    const data = Buffer.from(payload);
    writeFileDurable(path.join(this.options.dir, fileName(seq)), data, this.fsync);
    this.entries.set(seq, data.length);
    this.totalBytes += data.length;
    this.enforceBound();
  }

  private enforceBound(): void {
    if (this.totalBytes <= this.maxBytes) return;
    let count = 0;
    let bytes = 0;
    let first: number | undefined;
    let last: number | undefined;
    // Oldest first: the newest data is worth most to a live fleet, and the newest batch always stays.
    for (const [seq, size] of this.entries) {
      if (this.totalBytes <= this.maxBytes || this.entries.size === 1) break;
      this.remove(seq);
      first ??= seq;
      last = seq;
      count++;
      bytes += size;
    }
    this.droppedCount += count;
    this.droppedBytesTotal += bytes;
    this.options.logger?.warn(
      { dropped: count, bytes, fromSeq: first, toSeq: last, maxBytes: this.maxBytes },
      'disk queue full: dropped oldest batches',
    );
  }

  /** The oldest queued seqs, up to `limit`, skipping those in `exclude` (e.g. in flight). */
  oldest(limit: number, exclude: ReadonlySet<number> = new Set()): number[] {
    const out: number[] = [];
    for (const seq of this.entries.keys()) {
      if (out.length >= limit) break;
      if (!exclude.has(seq)) out.push(seq);
    }
    return out;
  }

  has(seq: number): boolean {
    return this.entries.has(seq);
  }

  read(seq: number): string {
    return readFileSync(path.join(this.options.dir, fileName(seq)), 'utf8');
  }

  /** Removes an acknowledged (or dropped) batch; unknown seqs are ignored (already dropped). */
  remove(seq: number): void {
    const size = this.entries.get(seq);
    if (size === undefined) return;
    this.entries.delete(seq);
    this.totalBytes -= size;
    try {
      unlinkSync(path.join(this.options.dir, fileName(seq)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Highest queued seq, if any. */
  maxSeq(): number | undefined {
    let max: number | undefined;
    for (const seq of this.entries.keys()) max = seq;
    return max;
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): DiskQueueStats {
    return {
      batches: this.entries.size,
      bytes: this.totalBytes,
      dropped: this.droppedCount,
      droppedBytes: this.droppedBytesTotal,
    };
  }
}
