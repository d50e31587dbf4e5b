import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { resolveSignal } from '../shared/signals.js';
import { resolveRange } from '../shared/time.js';
import { requireVehicleData } from '../vehicles/access.js';
import { detectTrips, type Point, type Trip } from './detect.js';
import { TripSamplesRepository, type SeriesRow } from './repository.js';

/** A trip as the API answers it: the same figures, with ISO times. */
export type TripView = Omit<Trip, 'start' | 'end'> & { start: string; end: string };

export interface TripsReport {
  vehicleId: string;
  from: string;
  to: string;
  trips: TripView[];
  /** True when a signal had more samples than one request reads: narrow the range. */
  truncated: boolean;
}

export const TRIPS_LIMITS = {
  defaultWindowMs: 24 * 3600_000,
  maxWindowMs: 7 * 24 * 3600_000,
  /** Per signal read (speed, rpm, fuel rate): a week of 1 Hz speed is 604,800 samples. */
  maxSamples: 700_000,
} as const;

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
const toPoints = (rows: SeriesRow[]): Point[] =>
  rows.map((r) => ({ t: new Date(r.time).getTime(), v: Number(r.value) }));

export class TripsService {
  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Trips inside [from, to] derived from raw speed, rpm (ignition) and fuel-rate samples; trips are clipped to the range. */
  async list(
    scope: Scope,
    vehicleId: string,
    query: { from?: Date | undefined; to?: Date | undefined },
  ): Promise<TripsReport> {
    const { from, to } = resolveRange(query.from, query.to, TRIPS_LIMITS.defaultWindowMs, this.now());
    if (to.getTime() - from.getTime() > TRIPS_LIMITS.maxWindowMs) {
      throw apiError('TIME_RANGE_INVALID', 'Trips are derived from raw samples: ask for at most 7 days at a time');
    }
    const ids = ['vehicle.speed', 'engine.rpm', 'fuel.rate'].map((k) => resolveSignal(k).id);
    // One read for all three signals; more rows than that is more than one request should hold.
    const limit = TRIPS_LIMITS.maxSamples * ids.length;
    const bySignal = await scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'telemetry:read');
      return new TripSamplesRepository(q).series(vehicleId, ids, from, to, limit + 1);
    });
    const [speed, rpm, fuelRate] = ids.map((id) => bySignal.get(id) ?? []) as [SeriesRow[], SeriesRow[], SeriesRow[]];
    const truncated = speed.length + rpm.length + fuelRate.length > limit;
    const trips = detectTrips({
      speed: toPoints(speed),
      rpm: toPoints(rpm),
      fuelRate: toPoints(fuelRate),
    });
    return {
      vehicleId,
      from: from.toISOString(),
      to: to.toISOString(),
      truncated,
      trips: trips.map((t) => ({
        start: new Date(t.start).toISOString(),
        end: new Date(t.end).toISOString(),
        durationS: round(t.durationS, 1),
        distanceKm: round(t.distanceKm, 3),
        idleS: round(t.idleS, 1),
        maxSpeedKmh: round(t.maxSpeedKmh, 1),
        avgSpeedKmh: round(t.avgSpeedKmh, 1),
        fuelUsedL: t.fuelUsedL === null ? null : round(t.fuelUsedL, 3),
      })),
    };
  }
}
