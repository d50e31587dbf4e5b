import { describe, expect, it } from 'vitest';
import { createOnlineScorer } from './scorer.js';
import { createVehicleNormal, parseVehicleNormal } from '../normal/vehicle-normal.js';
import { calibrationStatus } from '../normal/readiness.js';
import { featureColumn, type ColumnRange, type Reading } from '../features/frames.js';

/** A warm engine idling, with the coolant temperature supplied per second. */
function idle(startS: number, seconds: number, coolant: (s: number) => number): Reading[] {
  const out: Reading[] = [];
  for (let s = startS; s < startS + seconds; s++) {
    const time = s * 1000;
    out.push(
      { signal: 'engine.rpm', time, value: 750 + (s % 7) },
      { signal: 'vehicle.speed', time, value: 0 },
      { signal: 'engine.coolant_temp', time, value: coolant(s) },
      { signal: 'ecu.control_module_voltage', time, value: 13.9 + (s % 3) * 0.01 },
      { signal: 'fuel.trim.short_term_b1', time, value: (s % 5) - 2 },
      { signal: 'fuel.trim.long_term_b1', time, value: -1 },
    );
  }
  return out;
}

describe('online scorer', () => {
  it('raises one alert per condition until it clears, then again when it returns', () => {
    const scorer = createOnlineScorer();
    // A new car is calibrating: only the universal limit (no cooling system regulates near 125 °C) fires.
    const hot = (s: number): number => 125 + (s % 2);
    const normal = (s: number): number => 88 + (s % 2);
    expect(scorer.push('car-1', idle(0, 120, normal))).toEqual([]);
    const first = scorer.push('car-1', idle(120, 60, hot));
    expect(first.filter((a) => a.kind === 'cooling')).toHaveLength(1);
    expect(first[0]).toMatchObject({ vehicleId: 'car-1', severity: 'critical', signals: ['engine.coolant_temp'] });
    expect(first[0]!.explanation).toMatch(/Coolant reads 12\d °C; no cooling system regulates above about 115 °C/);
    expect(first[0]!.tier).toBe('universal');
    // Still hot, in many small batches: no repeats.
    for (let s = 180; s < 400; s += 5) expect(scorer.push('car-1', idle(s, 5, hot))).toEqual([]);
    // Cools down long enough to clear, then overheats again: a new alert.
    expect(scorer.push('car-1', idle(400, 120, normal))).toEqual([]);
    expect(scorer.push('car-1', idle(520, 60, hot)).filter((a) => a.kind === 'cooling')).toHaveLength(1);
  });

  it('keeps vehicles apart', () => {
    const scorer = createOnlineScorer();
    scorer.push(
      'car-1',
      idle(0, 60, () => 127),
    );
    const other = scorer.push(
      'car-2',
      idle(0, 60, () => 89),
    );
    expect(other).toEqual([]);
    expect(scorer.vehicles()).toBe(2);
  });

  it('does not call a signal stuck when it merely stops being reported', () => {
    const scorer = createOnlineScorer();
    const alerts = scorer.push('car-1', [
      ...idle(0, 30, () => 88),
      ...idle(30, 200, () => 88).filter((r) => r.signal !== 'engine.rpm' || Number(r.time) % 60_000 === 0),
    ]);
    expect(alerts.filter((a) => a.kind === 'sensor')).toEqual([]);
  });

  it('forgets vehicles that went quiet, bounding memory', () => {
    let clock = 0;
    const scorer = createOnlineScorer({ now: () => clock, idleEvictMs: 1000 });
    scorer.push(
      'car-1',
      idle(0, 5, () => 88),
    );
    clock = 120_000;
    scorer.push(
      'car-2',
      idle(0, 5, () => 88),
    );
    expect(scorer.vehicles()).toBe(1);
  });

  it('does not call 110 °C overheating on a car still calibrating (another car may run there)', () => {
    const scorer = createOnlineScorer();
    expect(
      scorer.push(
        'car-1',
        idle(0, 180, () => 110),
      ),
    ).toEqual([]);
    expect(calibrationStatus(scorer.normal('car-1')!).status).toBe('calibrating');
  });

  it('learns a normal per vehicle, reports which changed, and restarts from a seeded one', () => {
    const scorer = createOnlineScorer();
    expect(scorer.normal('car-1')).toBeUndefined();
    scorer.push(
      'car-1',
      idle(0, 120, () => 88),
    );
    expect(scorer.takeChangedNormals()).toEqual(['car-1']);
    expect(scorer.takeChangedNormals()).toEqual([]);
    const learned = scorer.normal('car-1')!;
    expect(learned.runningMs).toBeGreaterThan(60_000);
    expect(learned.trips).toBe(1);
    // Persisted as JSON and loaded back, it seeds the vehicle in another scorer.
    const stored = parseVehicleNormal(JSON.parse(JSON.stringify(learned)));
    const other = createOnlineScorer();
    other.seedNormal('car-1', stored);
    other.push(
      'car-1',
      idle(1000, 60, () => 88),
    );
    expect(other.normal('car-1')!.runningMs).toBeGreaterThan(learned.runningMs);
    other.seedNormal('car-2', createVehicleNormal());
    expect(other.normal('car-2')!.runningMs).toBe(0);
  });

  it('filters a single bogus coolant sample and reports it as data quality, not a fault', () => {
    const scorer = createOnlineScorer();
    const readings = idle(0, 120, () => 88).map((r) =>
      r.signal === 'engine.coolant_temp' && r.time === 60_000 ? { ...r, value: -40 } : r,
    );
    expect(scorer.push('car-1', readings)).toEqual([]);
    expect(scorer.takeDataQuality()).toEqual([
      { vehicleId: 'car-1', signal: 'engine.coolant_temp', filtered: 1, example: -40, at: 60_000 },
    ]);
    expect(scorer.takeDataQuality()).toEqual([]);
  });
});

describe('online scorer, readings as columns', () => {
  /** Readings as columns, a range per `size` readings (a message's worth). */
  const asRanges = (readings: readonly Reading[], size: number): ColumnRange[] => {
    const n = readings.length;
    const columns = { feature: new Int8Array(n), time: new Float64Array(n), value: new Float64Array(n) };
    readings.forEach((r, i) => {
      columns.feature[i] = featureColumn(r.signal);
      columns.time[i] = Number(r.time);
      columns.value[i] = r.value;
    });
    const ranges: ColumnRange[] = [];
    for (let start = 0; start < n; start += size) ranges.push({ columns, start, end: Math.min(n, start + size) });
    return ranges;
  };

  it('raises what push() raises for the same readings, and learns the same normal', () => {
    const byObjects = createOnlineScorer();
    const byColumns = createOnlineScorer();
    const hot = (s: number): number => 125 + (s % 2);
    const normal = (s: number): number => 88 + (s % 2);
    const drive = [
      idle(0, 120, normal),
      idle(120, 60, hot),
      idle(180, 200, hot),
      idle(380, 120, normal),
      idle(500, 60, hot),
    ];
    const raised: [unknown[], unknown[]] = [[], []];
    for (const part of drive) {
      raised[0].push(...byObjects.push('car-1', part));
      raised[1].push(...byColumns.pushColumns('car-1', asRanges(part, 6)));
    }
    expect(raised[0].length).toBeGreaterThan(1);
    expect(raised[1]).toEqual(raised[0]);
    expect(byColumns.normal('car-1')).toEqual(byObjects.normal('car-1'));
  });
});
