import { describe, expect, it } from 'vitest';
import { detectTrips, TRIP_RULES, type Point } from './detect.js';

const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
/** One point per second from `startS` for `values.length` seconds. */
const series = (startS: number, values: number[]): Point[] =>
  values.map((v, i) => ({ t: T0 + (startS + i) * 1000, v }));
const repeat = (n: number, v: number): number[] => Array.from({ length: n }, () => v);

describe('detectTrips', () => {
  it('integrates speed into distance and counts idle time at a standstill with the engine on', () => {
    // 60 s idling, 600 s at 60 km/h (10 km), 60 s idling, then engine off.
    const speed = series(0, [...repeat(60, 0), ...repeat(600, 60), ...repeat(61, 0)]);
    const rpm = series(0, [...repeat(60, 800), ...repeat(600, 2000), ...repeat(60, 800), 0]);
    const fuelRate = series(0, repeat(721, 6)); // 6 L/h for 720 s = 1.2 L
    const [trip, ...rest] = detectTrips({ speed, rpm, fuelRate });
    expect(rest).toEqual([]);
    expect(trip!.start).toBe(T0);
    expect(trip!.end).toBe(T0 + 719_000);
    expect(trip!.durationS).toBe(719);
    expect(trip!.distanceKm).toBeCloseTo(10, 1);
    expect(trip!.idleS).toBeCloseTo(119, 0);
    expect(trip!.maxSpeedKmh).toBe(60);
    expect(trip!.fuelUsedL).toBeCloseTo(1.2, 2);
    expect(trip!.avgSpeedKmh).toBeCloseTo(trip!.distanceKm / (719 / 3600), 6);
  });

  it('splits trips at a pause longer than splitMs and keeps shorter stops inside one trip', () => {
    const gapS = TRIP_RULES.splitMs / 1000;
    const speed = [
      ...series(0, repeat(120, 50)),
      ...series(120, repeat(60, 0)), // a 1-minute stop: same trip
      ...series(180, repeat(120, 50)),
      ...series(300 + gapS + 10, repeat(120, 40)), // parked longer than the split: a new trip
    ];
    const trips = detectTrips({ speed, rpm: [], fuelRate: [] });
    expect(trips).toHaveLength(2);
    expect(trips[0]!.start).toBe(T0);
    expect(trips[0]!.end).toBe(T0 + 299_000);
    // Without rpm data a stop inside a trip counts as idle.
    expect(trips[0]!.idleS).toBeGreaterThanOrEqual(59);
    expect(trips[0]!.fuelUsedL).toBeNull();
    expect(trips[1]!.start).toBe(T0 + (300 + gapS + 10) * 1000);
    expect(trips[1]!.distanceKm).toBeCloseTo((40 * 119) / 3600, 3);
  });

  it('ignores engine runs that never move, and does not integrate across data gaps', () => {
    expect(detectTrips({ speed: series(0, repeat(300, 0)), rpm: series(0, repeat(300, 750)), fuelRate: [] })).toEqual(
      [],
    );
    // Two samples at 100 km/h ten minutes apart are not 16 km of driving.
    const sparse = [
      { t: T0, v: 100 },
      { t: T0 + 600_000, v: 100 },
    ];
    expect(detectTrips({ speed: sparse, rpm: [], fuelRate: [] })).toEqual([]);
  });
});
