import { describe, expect, it } from 'vitest';
import { FEATURE_SIGNALS, S, SIGNAL_COUNT } from '../signals.js';
import {
  columnsToFrames,
  columnsToReadings,
  createFramePool,
  featureColumn,
  readingsToFrames,
  toMillis,
  type ColumnRange,
  type Reading,
} from './frames.js';

const t0 = Date.parse('2025-06-02T07:00:00Z');
/** Three seconds of a car: rpm and coolant each reported twice a second, one signal we do not model. */
const inOrder: Reading[] = Array.from({ length: 6 }, (_, k) => [
  { signal: 'engine.rpm', time: t0 + k * 500 + 10, value: 800 + k },
  { signal: 'fuel.level', time: t0 + k * 500 + 20, value: 40 },
  { signal: 'engine.coolant_temp', time: new Date(t0 + k * 500 + 30).toISOString(), value: 80 + k },
]).flat();

describe('readingsToFrames', () => {
  it('makes one frame per half second, carrying values forward and marking what was reported', () => {
    const last = new Float64Array(SIGNAL_COUNT).fill(NaN);
    const frames = readingsToFrames(inOrder, last);
    expect(frames.map((f) => f.t)).toEqual([0, 1, 2, 3, 4, 5].map((k) => t0 + k * 500));
    expect(frames.map((f) => [f.v[S.rpm], f.v[S.coolant]])).toEqual([0, 1, 2, 3, 4, 5].map((k) => [800 + k, 80 + k]));
    expect(frames.every((f) => f.seen === ((1 << S.rpm) | (1 << S.coolant)))).toBe(true);
    expect(last[S.rpm]).toBe(805);
    // The next batch starts from what this one left.
    const next = readingsToFrames([{ signal: 'engine.coolant_temp', time: t0 + 3000, value: 90 }], last);
    expect([next[0]!.v[S.rpm], next[0]!.v[S.coolant], next[0]!.seen]).toEqual([805, 90, 1 << S.coolant]);
  });

  it('gives frames of their own: changing one changes no other', () => {
    const frames = readingsToFrames(inOrder);
    frames[0]!.v[S.rpm] = -1;
    expect(frames.map((f) => f.v[S.rpm])).toEqual([-1, 801, 802, 803, 804, 805]);
    expect(frames.every((f) => f.v.length === FEATURE_SIGNALS.length)).toBe(true);
  });

  it('a pool kept across batches never hands out the same slot twice', () => {
    const pool = createFramePool();
    const last = new Float64Array(SIGNAL_COUNT).fill(NaN);
    const kept = Array.from({ length: 40 }, (_, k) =>
      readingsToFrames([{ signal: 'engine.rpm', time: t0 + k * 1000, value: k }], last, pool),
    ).flat();
    expect(kept.map((f) => f.v[S.rpm])).toEqual(Array.from({ length: 40 }, (_, k) => k));
  });

  it('puts readings out of order into bucket order first, a later reading of a bucket still winning', () => {
    const shuffled = [...inOrder].reverse();
    shuffled.push({ signal: 'engine.rpm', time: t0 + 10, value: 999 });
    const frames = readingsToFrames(shuffled);
    expect(frames.map((f) => f.t)).toEqual([0, 1, 2, 3, 4, 5].map((k) => t0 + k * 500));
    expect(frames.map((f) => f.v[S.rpm])).toEqual([999, 801, 802, 803, 804, 805]);
    // A state carried in is restored before the sorted walk: the first frame sees it, not a half walk.
    const last = new Float64Array(SIGNAL_COUNT).fill(NaN);
    last[S.speed] = 42;
    const withLast = readingsToFrames(shuffled, last);
    expect(withLast.map((f) => f.v[S.speed])).toEqual([42, 42, 42, 42, 42, 42]);
    expect(withLast.map((f) => f.v[S.coolant])).toEqual([80, 81, 82, 83, 84, 85]);
  });

  it('skips unreadable readings wherever they sit', () => {
    const frames = readingsToFrames([
      { signal: 'engine.rpm', time: 'not a time', value: 1 },
      ...inOrder,
      { signal: 'engine.rpm', time: t0 + 9000, value: Number.NaN },
      { signal: 'nobody.knows', time: t0 - 5000, value: 3 },
    ]);
    expect(frames).toHaveLength(6);
    expect(readingsToFrames([])).toEqual([]);
  });

  it('a late reading of the first instant, after several later ones, still lands in the first frame', () => {
    // The first and last readings span one bucket, the walk meets four before it sees the order break.
    const rpm = (ms: number, value: number): Reading => ({ signal: 'engine.rpm', time: t0 + ms, value });
    const frames = readingsToFrames([rpm(0, 1), rpm(500, 2), rpm(1000, 3), rpm(1500, 4), rpm(100, 7)]);
    expect(frames.map((f) => [f.t - t0, f.v[S.rpm]])).toEqual([
      [0, 7],
      [500, 2],
      [1000, 3],
      [1500, 4],
    ]);
  });
});

/** Readings as columns, cut into ranges of `size` (the way a scoring queue hands one vehicle's messages over). */
function asRanges(readings: readonly Reading[], size: number): ColumnRange[] {
  const n = readings.length;
  const columns = { feature: new Int8Array(n), time: new Float64Array(n), value: new Float64Array(n) };
  readings.forEach((r, i) => {
    columns.feature[i] = featureColumn(r.signal);
    columns.time[i] = toMillis(r.time);
    columns.value[i] = r.value;
  });
  const ranges: ColumnRange[] = [];
  for (let start = 0; start < n; start += size) ranges.push({ columns, start, end: Math.min(n, start + size) });
  return ranges;
}

const plain = (frames: readonly { t: number; v: Float64Array; seen?: number }[]) =>
  frames.map((f) => ({ t: f.t, v: [...f.v], seen: f.seen }));

describe('columnsToFrames', () => {
  const cases: [string, Reading[]][] = [
    ['in order', inOrder],
    [
      'reversed, a late reading of the first bucket last',
      [...inOrder].reverse().concat({ signal: 'engine.rpm', time: t0 + 10, value: 999 }),
    ],
    [
      'with unreadable readings',
      [
        { signal: 'engine.rpm', time: Number.NaN, value: 1 },
        ...inOrder,
        { signal: 'engine.rpm', time: t0 + 9000, value: Number.NaN },
        { signal: 'nobody.knows', time: t0 - 5000, value: 3 },
      ],
    ],
    ['empty', []],
  ];
  it.each(cases)(
    'gives the frames and carried state readingsToFrames gives (%s), whatever the ranges',
    (_name, readings) => {
      for (const size of [1, 4, 1000]) {
        const lastA = new Float64Array(SIGNAL_COUNT).fill(NaN);
        lastA[S.speed] = 42;
        const lastB = lastA.slice();
        const expected = readingsToFrames(readings, lastA, createFramePool());
        const got = columnsToFrames(asRanges(readings, size), lastB, createFramePool());
        expect(plain(got)).toEqual(plain(expected));
        expect([...lastB]).toEqual([...lastA]);
      }
    },
  );

  it('hands the readings back as objects, leaving out signals no model reads', () => {
    const back = columnsToReadings(asRanges(inOrder, 5));
    expect(back).toHaveLength(12);
    expect(back[1]).toEqual({ signal: 'engine.coolant_temp', time: t0 + 30, value: 80 });
  });
});
