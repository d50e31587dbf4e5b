import { describe, expect, it } from 'vitest';
import { createSeqGapDetector } from './seq-gaps.js';

const device = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: null };
const T = 1_700_000_000_000;
const batch = (seq: number, t0 = T + seq * 1000) => ({ seq, t0 });

describe('per-device seq gaps', () => {
  it('records a range still missing after the grace, once, with the batch that finds it', () => {
    const gaps = createSeqGapDetector({ graceMs: 30_000 });
    expect(gaps.observe(device, batch(0), T)).toEqual([]);
    expect(gaps.observe(device, batch(1), T + 1000)).toEqual([]);
    expect(gaps.observe(device, batch(5), T + 2000)).toEqual([]); // 2..4 pending: a resend may come
    expect(gaps.observe(device, batch(6), T + 10_000)).toEqual([]);
    const found = gaps.observe(device, batch(7), T + 40_000);
    expect(found).toEqual([{ ...device, kind: 'seq_gap', detail: { from: 2, to: 4 } }]);
    // The same batch again (its transaction was retried): the same findings, to be written again.
    expect(gaps.observe(device, batch(7), T + 41_000)).toEqual(found);
    expect(gaps.observe(device, batch(8), T + 42_000)).toEqual([]);
  });

  it('records nothing when a late resend fills the range (out-of-order delivery after a reconnect)', () => {
    const gaps = createSeqGapDetector({ graceMs: 30_000 });
    gaps.observe(device, batch(10), T);
    gaps.observe(device, batch(13), T + 100);
    gaps.observe(device, batch(11), T + 200);
    gaps.observe(device, batch(12), T + 300);
    expect(gaps.observe(device, batch(14), T + 60_000)).toEqual([]);
  });

  it('records only the part of a range that never came', () => {
    const gaps = createSeqGapDetector({ graceMs: 1000 });
    gaps.observe(device, batch(0), T);
    gaps.observe(device, batch(10), T);
    gaps.observe(device, batch(5), T + 500);
    expect(gaps.observe(device, batch(11), T + 2000).map((e) => e.detail)).toEqual([
      { from: 1, to: 4 },
      { from: 6, to: 9 },
    ]);
  });

  it('treats a lower seq with newer data as a reset (agent restarted without its store), not a gap or a duplicate', () => {
    const gaps = createSeqGapDetector({ graceMs: 1000 });
    gaps.observe(device, batch(40), T);
    gaps.observe(device, batch(41), T + 1000);
    expect(gaps.observe(device, batch(3), T + 2000)).toEqual([]); // a resend of old data: a duplicate
    expect(gaps.observe(device, { seq: 0, t0: T + 900_000 }, T + 900_000)).toEqual([
      { ...device, kind: 'seq_reset', detail: { previous: 41, seq: 0 } },
    ]);
    expect(gaps.observe(device, { seq: 1, t0: T + 901_000 }, T + 901_000)).toEqual([]);
  });

  it('treats a seq far below the highest after a long silence as a reset', () => {
    const gaps = createSeqGapDetector({ resetMargin: 1000, resetSilenceMs: 300_000 });
    gaps.observe(device, { seq: 5000, t0: T }, T);
    expect(gaps.observe(device, { seq: 2, t0: T - 1 }, T + 600_000).map((e) => e.kind)).toEqual(['seq_reset']);
  });
});
