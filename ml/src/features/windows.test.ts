import { describe, expect, it } from 'vitest';
import { readingsToFrames, regimeOf } from './frames.js';
import { FEATURE_NAMES, slidingWindows, windowFeatures } from './windows.js';
import { NO_CAROBD, onRealDrives, realDrive } from '../test-helpers.js';
import { S, SIGNAL_COUNT } from '../signals.js';

const frame = (rpm: number, speed: number): Float64Array => {
  const v = new Float64Array(SIGNAL_COUNT).fill(1);
  v[S.rpm] = rpm;
  v[S.speed] = speed;
  return v;
};

describe('regimes', () => {
  it('tells engine off, idle and moving apart', () => {
    expect(regimeOf(frame(0, 0))).toBe('off');
    expect(regimeOf(frame(250, 0))).toBe('off');
    expect(regimeOf(frame(750, 0))).toBe('idle');
    expect(regimeOf(frame(1800, 45))).toBe('moving');
  });
});

describe('feature windows', () => {
  it('builds frames from readings, carrying values forward and marking what was reported', () => {
    const frames = readingsToFrames([
      { signal: 'engine.rpm', time: 1000, value: 800 },
      { signal: 'vehicle.speed', time: '1970-01-01T00:00:01.100Z', value: 0 },
      { signal: 'engine.rpm', time: 2000, value: 900 },
      { signal: 'not.a.signal', time: 2000, value: 5 },
    ]);
    expect(frames).toHaveLength(2);
    expect(frames[0]?.v[S.speed]).toBe(0);
    expect(frames[1]?.v[S.rpm]).toBe(900);
    expect(frames[1]?.v[S.speed]).toBe(0);
    expect(frames[1]?.seen).toBe(1 << S.rpm);
  });

  it('builds the same frames from readings out of order, the later of two readings in one instant winning', () => {
    const frames = readingsToFrames([
      { signal: 'engine.rpm', time: 2000, value: 900 },
      { signal: 'engine.rpm', time: 1000, value: 800 },
      { signal: 'vehicle.speed', time: 2100, value: 12 },
      { signal: 'engine.rpm', time: 1200, value: 810 },
      { signal: 'vehicle.speed', time: 'not a time', value: 99 },
    ]);
    expect(frames.map((f) => f.t)).toEqual([1000, 2000]);
    expect(frames[0]?.v[S.rpm]).toBe(810);
    expect(frames[0]?.v[S.speed]).toBeNaN();
    expect(frames[1]?.v[S.rpm]).toBe(900);
    expect(frames[1]?.v[S.speed]).toBe(12);
  });
});

describe.skipIf(NO_CAROBD)(onRealDrives('regimes and windows of real drives'), () => {
  it('finds both idle and moving windows in a real commute', async () => {
    const drive = await realDrive('live1.csv');
    const regimes = new Set(slidingWindows(drive.frames).map((w) => w.regime));
    expect(regimes.has('idle')).toBe(true);
    expect(regimes.has('moving')).toBe(true);
  });

  it('emits a 30 s window every 15 s of data', async () => {
    const drive = await realDrive('idle1.csv');
    const windows = slidingWindows(drive.frames);
    const seconds = ((drive.frames.at(-1)?.t ?? 0) - (drive.frames[0]?.t ?? 0)) / 1000;
    expect(windows.length).toBe(Math.floor((seconds - 30) / 15) + 1);
    expect(windows[1]!.start - windows[0]!.start).toBe(15_000);
    expect(windows[0]!.end - windows[0]!.start).toBe(30_000);
  });

  it('describes a running window with finite features and skips an engine-off one', async () => {
    const drive = await realDrive('drive1.csv');
    const windows = slidingWindows(drive.frames);
    const running = windows.find((w) => w.regime === 'moving')!;
    const features = windowFeatures(running)!;
    expect(features).toHaveLength(FEATURE_NAMES.length);
    expect([...features].every(Number.isFinite)).toBe(true);
    const off = { ...running, runningShare: 0, regime: 'off' as const };
    expect(windowFeatures(off)).toBeNull();
  });
});
