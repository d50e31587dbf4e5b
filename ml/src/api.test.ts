import { describe, expect, it } from 'vitest';
import { analyzeDriving, predictMaintenance } from './api.js';
import { benchmarkScoring } from './bench.js';
import { framesToReadings } from './features/frames.js';
import { injectFault } from './eval/inject.js';
import { FEATURE_SIGNALS } from './signals.js';
import { realDrive } from './test-helpers.js';

describe('predictMaintenance / analyzeDriving', () => {
  it('reports every system healthy on a real drive and explains a weak battery', async () => {
    const drive = await realDrive('live2.csv');
    const start = Date.parse('2025-03-01T08:00:00Z');
    const toIso = (frames: typeof drive.frames) =>
      framesToReadings(frames, FEATURE_SIGNALS).map((r) => ({ ...r, time: new Date(start + Number(r.time)).toISOString() }));
    const healthy = predictMaintenance(toIso(drive.frames));
    expect(Object.values(healthy.systems).map((s) => s.status)).toEqual(Array(6).fill('ok'));
    expect(healthy.systems.battery.summary).toMatch(/median running voltage 1[34]\.\d\d V/);
    const faulty = predictMaintenance(toIso(injectFault(drive, 'weak_battery', { seed: 5 }).frames));
    expect(faulty.systems.battery.status).toBe('attention');
    expect(faulty.systems.battery.alerts[0]?.explanation).toMatch(/alternator/);
    expect(faulty.systems.cooling.status).toBe('ok');
  });

  it('scores driving from readings', async () => {
    const report = analyzeDriving(framesToReadings((await realDrive('drive3.csv')).frames, FEATURE_SIGNALS));
    expect(report.score).toBeGreaterThanOrEqual(0);
    expect(report.score).toBeLessThanOrEqual(100);
    expect(report.explanation).toMatch(/Score \d+\/100/);
  });
});

describe('benchmarkScoring', () => {
  it('measures our scorer and the baseline on the same windows', () => {
    const result = benchmarkScoring({ windows: 40 });
    expect(result.windows).toBe(40);
    expect(result.windowsPerSecond).toBeGreaterThan(0);
    expect(result.baseline.windowsPerSecond).toBeGreaterThan(0);
    expect(result.ratio).toBeCloseTo(result.windowsPerSecond / result.baseline.windowsPerSecond);
  });
});
