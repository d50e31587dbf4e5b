import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { resolveSignal } from '../shared/signals.js';
import { resolveRange } from '../shared/time.js';
import { assertVehicle } from '../shared/vehicle-guard.js';
import { AnalyticsRepository } from './repository.js';

export interface DayFigures {
  /** UTC calendar day, YYYY-MM-DD. */
  date: string;
  distanceKm: number;
  drivingMinutes: number;
  engineOnMinutes: number;
  idleMinutes: number;
  maxSpeedKmh: number | null;
}

export interface DrivingAnalytics extends Omit<DayFigures, 'date'> {
  vehicleId: string;
  from: string;
  to: string;
  /** Idle minutes over engine-on minutes; null without rpm data. */
  idleShare: number | null;
  /** Distance over driving time (moving average); null when it never moved. */
  avgSpeedKmh: number | null;
  days: DayFigures[];
}

export const ANALYTICS_LIMITS = { defaultWindowMs: 7 * 24 * 3600_000, maxWindowMs: 366 * 24 * 3600_000 } as const;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

export class AnalyticsService {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async driving(
    scope: Scope,
    vehicleId: string,
    query: { from?: Date | undefined; to?: Date | undefined },
  ): Promise<DrivingAnalytics> {
    const range = resolveRange(query.from, query.to, ANALYTICS_LIMITS.defaultWindowMs, this.now());
    if (range.to.getTime() - range.from.getTime() > ANALYTICS_LIMITS.maxWindowMs) {
      throw apiError('TIME_RANGE_INVALID', 'Analytics cover at most 366 days per request');
    }
    // Whole minutes: the minute holding `from` counts, the one starting at `to` does not.
    const from = new Date(Math.floor(range.from.getTime() / 60_000) * 60_000);
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new AnalyticsRepository(q).perDay(
        vehicleId,
        resolveSignal('vehicle.speed').id,
        resolveSignal('engine.rpm').id,
        from,
        range.to,
      );
    });
    const days = rows.map((r): DayFigures => ({
      date: r.day,
      distanceKm: round(Number(r.distance_km), 3),
      drivingMinutes: Number(r.driving_minutes),
      engineOnMinutes: Number(r.engine_on_minutes),
      idleMinutes: Number(r.idle_minutes),
      maxSpeedKmh: r.max_speed === null ? null : Number(r.max_speed),
    }));
    const sum = (pick: (d: DayFigures) => number): number => days.reduce((acc, d) => acc + pick(d), 0);
    const distanceKm = round(
      sum((d) => d.distanceKm),
      3,
    );
    const drivingMinutes = sum((d) => d.drivingMinutes);
    const engineOnMinutes = sum((d) => d.engineOnMinutes);
    const idleMinutes = sum((d) => d.idleMinutes);
    const speeds = days.flatMap((d) => (d.maxSpeedKmh === null ? [] : [d.maxSpeedKmh]));
    return {
      vehicleId,
      from: from.toISOString(),
      to: range.to.toISOString(),
      distanceKm,
      drivingMinutes,
      engineOnMinutes,
      idleMinutes,
      idleShare: engineOnMinutes > 0 ? round(idleMinutes / engineOnMinutes, 4) : null,
      avgSpeedKmh: drivingMinutes > 0 ? round(distanceKm / (drivingMinutes / 60), 1) : null,
      maxSpeedKmh: speeds.length > 0 ? Math.max(...speeds) : null,
      days,
    };
  }
}
