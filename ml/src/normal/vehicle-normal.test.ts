import { describe, expect, it } from 'vitest';
import { ClutchError } from '@clutch/contracts';
import { createVehicleNormal, ownSignalNormal, parseVehicleNormal, signalNormal } from './vehicle-normal.js';
import { calibrationStatus, CALIBRATION_HOURS, CALIBRATION_TRIPS } from './readiness.js';
import {
  EXTREMES_ONLY,
  SKETCH_BINS,
  addToSketch,
  createSketch,
  learnIntoExtremes,
  learnIntoSketch,
  sketchQuantile,
} from './sketch.js';
import { createFilter, filterFrame, flushFilter, takeFiltered } from './filter.js';
import { S, SIGNAL_COUNT } from '../signals.js';
import type { Frame } from '../features/frames.js';

describe('vehicle normal', () => {
  it('starts calibrating, and says so for every per-vehicle check', () => {
    const status = calibrationStatus(createVehicleNormal());
    expect(status).toMatchObject({
      status: 'calibrating',
      runningHours: 0,
      hoursNeeded: CALIBRATION_HOURS,
      trips: 0,
      tripsNeeded: CALIBRATION_TRIPS,
    });
    const perVehicle = status.checks.filter((c) => !c.check.startsWith('universal.'));
    expect(perVehicle.length).toBeGreaterThan(5);
    for (const c of perVehicle)
      expect(c).toMatchObject({ ready: false, reason: expect.stringMatching(/^calibrating/) });
    expect(status.checks.filter((c) => c.check.startsWith('universal.')).every((c) => c.ready)).toBe(true);
  });

  it('round-trips through JSON and rejects what is not a normal', () => {
    const normal = createVehicleNormal();
    normal.runningMs = 1234;
    addToSketch(normal.coolantWarm, 90);
    normal.anomaly = { anything: [1, 2] };
    learnIntoExtremes(ownSignalNormal(normal, 'engine.rpm').range[0]!, 800, false);
    const back = parseVehicleNormal(JSON.parse(JSON.stringify(normal)));
    expect(back).toEqual(normal);
    expect(back.signals['engine.rpm']?.range[0]).toEqual([1, 800, 800]);
    // A signal never reported is not stored, and reads as empty.
    expect(Object.keys(back.signals)).toEqual(['engine.rpm']);
    expect(signalNormal(back, 'engine.load').windows).toBe(0);
    const rpm = JSON.parse(JSON.stringify(normal.signals['engine.rpm'])) as object;
    const bad: unknown[] = [
      null,
      42,
      'normal',
      [],
      {},
      { ...normal, version: 2 },
      { ...normal, runningMs: -1 },
      { ...normal, trips: 'many' },
      { ...normal, coolantWarm: { c: [1], w: [] } },
      { ...normal, signals: { 'engine.rpm': { windows: 1 } } },
      { ...normal, map: { basic: { n: 0, xtx: [], xty: [] } } },
      { ...normal, map: { ...normal.map, basic: { n: 3, xtx: [], xty: [] } } },
      { ...normal, map: { ...normal.map, basic: { n: 0, xtx: [1, 2, 3], xty: [] } } },
      {
        ...normal,
        signals: {
          'engine.rpm': {
            ...rpm,
            range: [
              [1, 'low', 2],
              [0, null, null],
              [0, null, null],
            ],
          },
        },
      },
      {
        ...normal,
        signals: {
          'engine.rpm': {
            ...rpm,
            zigzag: [
              [-1, 0, 1],
              [0, null, null],
              [0, null, null],
            ],
          },
        },
      },
      { ...normal, signals: { 'engine.rpm': { ...rpm, zigzag: [[1, 0, 1]] } } },
    ];
    for (const value of bad) {
      let caught: unknown;
      try {
        parseVehicleNormal(value);
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(value)?.slice(0, 60)).toBeInstanceOf(ClutchError);
      expect((caught as ClutchError).code).toBe('ML_NORMAL_INVALID');
    }
  });
});

describe('sketch', () => {
  it('keeps the exact extremes and close quantiles in bounded size', () => {
    const s = createSketch();
    for (let i = 0; i <= 1000; i++) addToSketch(s, i);
    expect(s.c.length).toBeLessThanOrEqual(SKETCH_BINS);
    expect(sketchQuantile(s, 0)).toBe(0);
    expect(sketchQuantile(s, 1)).toBe(1000);
    expect(Math.abs(sketchQuantile(s, 0.5) - 500)).toBeLessThan(30);
    expect(Math.abs(sketchQuantile(s, 0.99) - 990)).toBeLessThan(30);
  });

  it('an extremes-only sketch keeps exact extremes and count and nothing else', () => {
    const s = createSketch();
    for (let i = 0; i <= 1000; i++) addToSketch(s, i, EXTREMES_ONLY);
    expect(s).toEqual({ c: [], w: [], min: 0, max: 1000, count: 1001 });
    expect(sketchQuantile(s, 1)).toBe(1000);
    expect(sketchQuantile(s, 0.5)).toBeNaN();
  });

  it('after calibration moves its extremes only a small step per value (a ramping fault is not absorbed)', () => {
    const s = createSketch();
    for (let i = 0; i < 100; i++) addToSketch(s, 85 + (i % 10));
    for (let t = 95; t < 120; t += 2) learnIntoSketch(s, t, true);
    // 13 values, each at most 2 % of the 85–94 °C span beyond the current max: well under 100 °C.
    expect(sketchQuantile(s, 1)).toBeLessThan(98);
  });
});

function frame(t: number, coolant: number): Frame {
  const v = new Float64Array(SIGNAL_COUNT).fill(NaN);
  v[S.rpm] = 800;
  v[S.coolant] = coolant;
  return { t, v };
}

describe('sample filter', () => {
  it('drops one sample that leaves and returns faster than physics, and counts it', () => {
    const f = createFilter();
    const values = [88, 88, 89, -40, 89, 89, 130, 90];
    const out = values.map((c, i) => filterFrame(f, frame(i * 500, c)));
    out.push(flushFilter(f));
    expect(out.slice(1).map((x) => x?.v[S.coolant])).toEqual([88, 88, 89, 89, 89, 89, 89, 90]);
    expect(takeFiltered(f)).toEqual([{ signal: 'engine.coolant_temp', filtered: 2, example: 130, at: 3000 }]);
    expect(takeFiltered(f)).toEqual([]);
  });

  it('keeps a real step that stays, and values outside the encodable range never pass', () => {
    const f = createFilter();
    const values = [40, 40, 60, 60, 60, 300];
    const out = values.map((c, i) => filterFrame(f, frame(i * 500, c)));
    out.push(flushFilter(f));
    expect(out.slice(1).map((x) => x?.v[S.coolant])).toEqual([40, 40, 60, 60, 60, 60]);
  });
});
