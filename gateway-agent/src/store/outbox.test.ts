import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelemetryBatch } from '@clutch/contracts';
import { DiskQueue } from './disk-queue.js';
import { Outbox } from './outbox.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'clutch-outbox-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const queued = (outbox: Outbox): TelemetryBatch[] =>
  outbox.queue.oldest(1e6).map((seq) => JSON.parse(outbox.queue.read(seq)) as TelemetryBatch);

describe('Outbox (store-and-forward)', () => {
  it('keeps queued batches and continues seq after a restart', () => {
    const dir = tmp();
    const a = new Outbox({ dir });
    a.add('engine.rpm', 800, 1000);
    a.flush();
    a.add('engine.rpm', 900, 2000);
    a.flush();
    a.queue.remove(0); // batch 0 acknowledged
    a.close();
    const b = new Outbox({ dir });
    expect(b.queue.oldest(10)).toEqual([1]);
    b.add('engine.rpm', 1000, 3000);
    b.flush();
    expect(queued(b).map((x) => x.seq)).toEqual([1, 2]);
    b.close();
  });

  it('never reuses a seq even when every batch was acknowledged before the restart', () => {
    const dir = tmp();
    const a = new Outbox({ dir });
    for (let i = 0; i < 3; i++) {
      a.add('vehicle.speed', i, 1000 + i);
      a.flush();
    }
    for (const seq of a.queue.oldest(10)) a.queue.remove(seq);
    a.close();
    expect(new Outbox({ dir }).nextSeq).toBe(3);
  });

  it('turns samples journaled before a crash into a batch, once', () => {
    const dir = tmp();
    const a = new Outbox({ dir });
    a.add('engine.rpm', 700, 1000);
    a.flush(); // seq 0
    a.add('engine.rpm', 710, 2000);
    a.add('vehicle.speed', 12, 2001);
    // no flush, no close: the process dies here
    const b = new Outbox({ dir });
    const batches = queued(b);
    expect(batches.map((x) => x.seq)).toEqual([0, 1]);
    expect(batches[1]!.samples).toEqual([
      [0, 'engine.rpm', 710],
      [1, 'vehicle.speed', 12],
    ]);
    expect(b.nextSeq).toBe(2);
    // and a second crash right after recovery must not replay them again
    const c = new Outbox({ dir });
    expect(queued(c).map((x) => x.seq)).toEqual([0, 1]);
  });

  it('does not replay a journal whose batch was queued just before the crash', () => {
    const dir = tmp();
    const a = new Outbox({ dir });
    a.add('engine.rpm', 700, 1000);
    a.flush();
    // simulate a crash between queueing batch 0 and clearing the journal
    writeFileSync(path.join(dir, 'journal.jsonl'), '{"seq":0}\n[1000,"engine.rpm",700]\n');
    const b = new Outbox({ dir });
    expect(queued(b).map((x) => x.seq)).toEqual([0]);
  });

  it('ignores a torn last journal line', () => {
    const dir = tmp();
    new Outbox({ dir }).close();
    writeFileSync(path.join(dir, 'journal.jsonl'), '{"seq":0}\n[1000,"engine.rpm",700]\n[1001,"engi');
    expect(queued(new Outbox({ dir })).map((x) => x.samples.length)).toEqual([1]);
  });
});

describe('DiskQueue', () => {
  it('drops the oldest batches, and reports it, when over its byte bound', () => {
    const dir = tmp();
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o), info: () => {}, error: () => {} } as never;
    const q = new DiskQueue({ dir, maxBytes: 250, logger });
    for (let seq = 0; seq < 5; seq++) q.append(seq, 'x'.repeat(100));
    expect(q.oldest(10)).toEqual([3, 4]);
    expect(q.stats()).toMatchObject({ batches: 2, bytes: 200, dropped: 3, droppedBytes: 300 });
    expect(warnings).toHaveLength(3);
    expect(readdirSync(dir).sort()).toEqual(['0000000000000003.json', '0000000000000004.json']);
  });

  it('deletes a half-written batch left by a crash', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, '0000000000000007.json.tmp'), '{"v":1,');
    writeFileSync(path.join(dir, '0000000000000006.json'), '{}');
    const q = new DiskQueue({ dir });
    expect(q.oldest(10)).toEqual([6]);
    expect(readdirSync(dir)).toEqual(['0000000000000006.json']);
  });
});
