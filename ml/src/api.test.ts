import { describe, expect, it } from 'vitest';
import { analyzeDriving, predictMaintenance } from './api.js';
import { benchmarkScoring } from './bench.js';
import { framesToReadings } from './features/frames.js';
import { injectFault } from './eval/inject.js';
import { FEATURE_SIGNALS } from './signals.js';
import { NO_CAROBD, calibratedNormal, onRealDrives, realDrive } from './test-helpers.js';
import type { Reading } from './features/frames.js';

describe.skipIf(NO_CAROBD)(onRealDrives('predictMaintenance on a real drive'), () => {
  it('reports every system healthy on a real drive and explains a weak battery', async () => {
    const drive = await realDrive('live2.csv');
    const start = Date.parse('2025-03-01T08:00:00Z');
    const toIso = (frames: typeof drive.frames) =>
      framesToReadings(frames, FEATURE_SIGNALS).map((r) => ({
        ...r,
        time: new Date(start + Number(r.time)).toISOString(),
      }));
    const healthy = predictMaintenance(toIso(drive.frames));
    // A car never seen before: calibrating, and the status says why each own-normal check waits.
    expect(healthy.calibration?.status).toBe('calibrating');
    expect(healthy.calibration?.checks.find((c) => c.check === 'battery.charging')?.reason).toMatch(/^calibrating/);
    expect(Object.values(healthy.systems).map((s) => s.status)).toEqual(Array(6).fill('ok'));
    expect(healthy.systems.battery.summary).toMatch(/median running voltage 1[34]\.\d\d V/);
    const { normal } = await calibratedNormal('etios');
    const faulty = predictMaintenance(toIso(injectFault(drive, 'weak_battery', { seed: 5 }).frames), { normal });
    expect(faulty.calibration?.status).toBe('calibrated');
    expect(faulty.systems.battery.status).toBe('attention');
    expect(faulty.systems.battery.alerts[0]?.explanation).toMatch(/alternator/);
    expect(faulty.systems.cooling.status).toBe('ok');
  });
});

describe('analyzeDriving', () => {
  it('scores readings as they arrive from ingest: 20 of 30 minutes idling score round(100 - 40 x (2/3 - 0.3)) = 85', () => {
    // One rpm and one speed reading every 500 ms, ISO times, in the order ingest stores them.
    const readings: Reading[] = [];
    const start = Date.parse('2025-03-01T08:00:00Z');
    for (let i = 0; i <= 3600; i++) {
      const time = new Date(start + i * 500).toISOString();
      readings.push(
        { signal: 'engine.rpm', time, value: i < 2400 ? 800 : 1500 },
        { signal: 'vehicle.speed', time, value: i < 2400 ? 0 : 10 },
      );
    }
    const report = analyzeDriving(readings.reverse());
    expect(report.score).toBe(85);
    expect(report.durationHours).toBeCloseTo(0.5, 9);
    expect(report.idlingShare).toBeCloseTo(2 / 3, 9);
    expect(report.explanation).toMatch(/^Score 85\/100 over 0\.50 h/);
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
