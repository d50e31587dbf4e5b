import { describe, expect, it } from 'vitest';
import { createOnlineScorer, type Alert } from '../online/scorer.js';
import { injectFault, type FaultType } from '../eval/inject.js';
import { RULES_ONLY_MODEL } from '../models/model.js';
import { realDrive } from '../test-helpers.js';
import type { Frame } from '../features/frames.js';
import { analyzeDrivingFrames } from './driving.js';
import { S } from '../signals.js';

function score(frames: readonly Frame[]): Alert[] {
  return createOnlineScorer({ model: RULES_ONLY_MODEL, now: () => 0 }).pushFrames('car-1', frames);
}

const HEALTHY = ['drive3.csv', 'idle10.csv', 'live2.csv', 'ufpe3.csv'];

describe('health checks on healthy real drives', () => {
  it.each(HEALTHY)('raise no alert on %s', async (file) => {
    const alerts = score((await realDrive(file)).frames);
    expect(alerts.map((a) => a.title)).toEqual([]);
  });
});

const CASES: [FaultType, string, RegExp, RegExp][] = [
  ['overheating', 'cooling', /Coolant (temperature high|reads)|overheating/i, /radiator fan|thermostat/],
  ['weak_battery', 'battery', /Charging voltage low|not being charged/, /alternator/],
  ['lean_trims', 'fuel_trim', /lean/i, /vacuum hoses|fuel pressure/],
  ['stuck_sensor', 'sensor', /reading frozen/, /has read exactly/],
  ['noisy_signal', 'sensor', /erratic/, /between consecutive samples/],
  ['sensor_drift', 'sensor', /Manifold pressure reads high/, /this engine pulls about/],
];

describe('health checks on injected faults', () => {
  it.each(CASES)('%s raises a %s alert that explains itself', async (fault, kind, title, words) => {
    const copy = injectFault(await realDrive('live2.csv'), fault, { seed: 3 });
    const after = score(copy.frames).filter((a) => a.at >= copy.onsetMs);
    const alert = after.find((a) => a.kind === kind);
    expect(alert, `${fault}: ${after.map((a) => a.title).join(', ')}`).toBeDefined();
    expect(alert!.title).toMatch(title);
    expect(alert!.explanation).toMatch(words);
    expect(alert!.explanation).toMatch(/Check/);
    expect(alert!.signals.length).toBeGreaterThan(0);
    expect(Number.isFinite(alert!.observed)).toBe(true);
  });

  it('quotes the measured voltage against the healthy range', async () => {
    const copy = injectFault(await realDrive('drive3.csv'), 'weak_battery', { seed: 1 });
    const alert = score(copy.frames).find((a) => a.kind === 'battery')!;
    expect(alert.observed).toBeLessThan(12.7);
    expect(alert.expected).toEqual({ min: 13.2, max: 14.8 });
    expect(alert.explanation).toContain(`${alert.observed.toFixed(2)} V`);
  });
});

describe('driving behaviour', () => {
  it('scores a real drive and counts a harsh stop added to it', async () => {
    const drive = await realDrive('drive3.csv');
    const base = analyzeDrivingFrames(drive.frames);
    expect(base.score).toBeGreaterThan(50);
    expect(base.distanceKm).toBeGreaterThan(1);
    // Replace 6 s of the drive with a 100 -> 0 km/h stop.
    const frames = drive.frames.map((f) => ({ t: f.t, v: Float64Array.from(f.v) }));
    const at = Math.floor(frames.length / 2);
    for (let k = 0; k < 12; k++) {
      frames[at + k]!.v[S.speed] = Math.max(0, 100 - k * 9);
      frames[at + k]!.v[S.rpm] = 1500;
    }
    frames[at - 1]!.v[S.speed] = 100;
    const report = analyzeDrivingFrames(frames);
    expect(report.harshBrakings).toBeGreaterThan(base.harshBrakings);
    expect(report.events.some((e) => e.kind === 'harsh_braking' && /km\/h per second/.test(e.explanation))).toBe(true);
    expect(report.score).toBeLessThan(base.score + 1);
  });
});
