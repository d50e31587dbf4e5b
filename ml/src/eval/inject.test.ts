import { describe, expect, it } from 'vitest';
import { FAULT_TYPES, injectFault } from './inject.js';
import { NO_CAROBD, onRealDrives, realDrive } from '../test-helpers.js';
import { FEATURE_SIGNALS } from '../signals.js';

describe.skipIf(NO_CAROBD)(onRealDrives('fault injector on a real drive'), () => {
  it.each(FAULT_TYPES)('%s changes only the copy, only after onset, reproducibly', async (fault) => {
    const drive = await realDrive('live2.csv');
    const before = drive.frames.map((f) => Array.from(f.v));
    const a = injectFault(drive, fault, { seed: 11 });
    const b = injectFault(drive, fault, { seed: 11 });
    expect(drive.frames.map((f) => Array.from(f.v))).toEqual(before);
    expect(a.onsetMs).toBe(b.onsetMs);
    expect(a.frames.map((f) => Array.from(f.v))).toEqual(b.frames.map((f) => Array.from(f.v)));
    const end = drive.frames.at(-1)!.t;
    expect(a.onsetMs).toBeGreaterThan(end * 0.3);
    expect(a.onsetMs).toBeLessThan(end * 0.7);
    const idx = FEATURE_SIGNALS.indexOf(a.signal as (typeof FEATURE_SIGNALS)[number]);
    const changedAt = a.frames.filter((f, k) => f.v[idx] !== drive.frames[k]!.v[idx]).map((f) => f.t);
    expect(changedAt.every((t) => t >= a.onsetMs)).toBe(true);
    if (fault !== 'stuck_sensor') expect(changedAt.length).toBeGreaterThan(10);
    expect(a.description.length).toBeGreaterThan(5);
  });

  it('draws a different onset for a different seed', async () => {
    const drive = await realDrive('live2.csv');
    const onsets = new Set([1, 2, 3, 4].map((seed) => injectFault(drive, 'overheating', { seed }).onsetMs));
    expect(onsets.size).toBeGreaterThan(1);
  });
});
