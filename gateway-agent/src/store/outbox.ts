// The agent's durable outbox: samples -> crash journal -> batches (with a persisted seq) -> disk queue.
//
// Files in `dir`:
//   queue/<seq>.json  batches waiting for PUBACK (see disk-queue.ts for the fsync policy)
//   seq               the next seq, written durably after every batch (DESIGN §4: seq must never repeat
//                     or jump back, or ingest's dedupe and gap detection break)
//   journal.jsonl     samples of the batch being filled; the first line names the seq they will get
//
// Journal policy: each sample is one write(2) without fsync. It survives a process crash (kill -9, OOM,
// an exception): the bytes are in the kernel's page cache. A power cut can lose at most the samples of
// the batch being filled (one batch interval, 1 s by default); everything already batched is fsync'd.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { TelemetryBatch } from '@clutch/contracts';
import type { Logger } from 'pino';
import { TelemetryBatcher } from './batcher.js';
import { DiskQueue, writeFileDurable } from './disk-queue.js';

export interface OutboxOptions {
  readonly dir: string;
  readonly maxBytes?: number;
  readonly fsync?: boolean;
  readonly maxSamplesPerBatch?: number;
  readonly logger?: Logger;
  /** Called after each batch is durably queued (e.g. to wake the sender). */
  readonly onQueued?: (seq: number) => void;
}

type JournalLine = { seq: number } | [number, string, number];

export class Outbox {
  readonly queue: DiskQueue;
  private readonly seqFile: string;
  private readonly journalFile: string;
  private journalFd: number;
  private readonly batcher: TelemetryBatcher;
  private readonly fsync: boolean;

  constructor(private readonly options: OutboxOptions) {
    this.fsync = options.fsync ?? true;
    this.queue = new DiskQueue({
      dir: path.join(options.dir, 'queue'),
      maxBytes: options.maxBytes,
      fsync: options.fsync,
      logger: options.logger,
    });
    this.seqFile = path.join(options.dir, 'seq');
    this.journalFile = path.join(options.dir, 'journal.jsonl');
    const persisted = existsSync(this.seqFile) ? Number(readFileSync(this.seqFile, 'utf8').trim()) : 0;
    let nextSeq = Math.max(Number.isSafeInteger(persisted) ? persisted : 0, (this.queue.maxSeq() ?? -1) + 1);

    // Samples journaled before a crash become a batch now, unless that batch was already queued.
    const recovered = this.readJournal(nextSeq);
    if (recovered.length > 0) {
      const replay = new TelemetryBatcher((batch) => this.commit(batch), nextSeq, options.maxSamplesPerBatch);
      for (const [at, key, value] of recovered) replay.add(key, value, at);
      replay.flush();
      nextSeq = replay.nextSeq;
      options.logger?.info({ samples: recovered.length }, 'recovered journaled samples after a crash');
    }
    this.journalFd = openSync(this.journalFile, 'a');
    this.batcher = new TelemetryBatcher(
      (batch) => {
        this.commit(batch);
        this.resetJournal(batch.seq + 1);
      },
      nextSeq,
      options.maxSamplesPerBatch,
      (key, value, at) => writeSync(this.journalFd, `${JSON.stringify([at, key, value])}\n`),
    );
    this.resetJournal(nextSeq);
  }

  private readJournal(nextSeq: number): [number, string, number][] {
    if (!existsSync(this.journalFile)) return [];
    const lines = readFileSync(this.journalFile, 'utf8').split('\n');
    let header: JournalLine | undefined;
    const samples: [number, string, number][] = [];
    for (const line of lines) {
      if (line === '') continue;
      let parsed: JournalLine;
      try {
        parsed = JSON.parse(line) as JournalLine;
      } catch {
        continue; // the last line of a crash may be torn
      }
      if (header === undefined) header = parsed;
      else if (Array.isArray(parsed) && parsed.length === 3) samples.push(parsed);
    }
    // The header names the seq these samples were meant for; a lower seq means that batch was
    // queued before the crash and the journal was not yet cleared: replaying it would double samples.
    if (!header || Array.isArray(header) || header.seq < nextSeq) return [];
    return samples;
  }

  private commit(batch: TelemetryBatch): void {
    this.queue.append(batch.seq, JSON.stringify(batch));
    writeFileDurable(this.seqFile, String(batch.seq + 1), this.fsync);
    this.options.onQueued?.(batch.seq);
  }

  private resetJournal(seq: number): void {
    ftruncateSync(this.journalFd, 0);
    writeSync(this.journalFd, `${JSON.stringify({ seq })}\n`);
  }

  add(key: string, value: number, atMs?: number): void {
    this.batcher.add(key, value, atMs);
  }

  flush(): void {
    this.batcher.flush();
  }

  get nextSeq(): number {
    return this.batcher.nextSeq;
  }

  get batchesQueued(): number {
    return this.batcher.batchesSent;
  }

  get samplesQueued(): number {
    return this.batcher.samplesSent;
  }

  close(): void {
    this.flush();
    closeSync(this.journalFd);
  }
}
