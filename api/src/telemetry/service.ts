import { signalByKey, signalById, signalCatalogue } from '@clutch/contracts';
import { apiError } from '../errors.js';
import { toIso } from '../vehicles/service.js';
import type { VehiclesService } from '../vehicles/service.js';
import type { TelemetryRepository } from './repository.js';

export interface LatestReading {
  signal: string;
  name: string;
  unit: string;
  value: number;
  time: string;
}

export interface TelemetrySeries {
  vehicleId: string;
  signal: string;
  unit: string;
  from: string;
  to: string;
  points: { time: string; value: number }[];
  /** True when `limit` cut the series short: ask again from the last point's time. */
  truncated: boolean;
}

export interface RangeQuery {
  signal: string;
  from?: Date;
  to?: Date;
  limit?: number;
}

export const TELEMETRY_DEFAULTS = {
  windowMs: 15 * 60_000,
  limit: 10_000,
  maxLimit: 100_000,
  /** A value older than this is not "latest" for a live dashboard, and the bound keeps probes on few partitions. */
  latestWindowMs: 30 * 24 * 3600_000,
} as const;

export class TelemetryService {
  constructor(
    private readonly telemetry: TelemetryRepository,
    private readonly vehicles: VehiclesService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async latest(vehicleId: string): Promise<{ vehicleId: string; readings: LatestReading[] }> {
    await this.vehicles.assertExists(vehicleId);
    const since = new Date(this.now().getTime() - TELEMETRY_DEFAULTS.latestWindowMs);
    const rows = await this.telemetry.latest(vehicleId, signalCatalogue.map((s) => s.id), since);
    const readings = rows.flatMap((row): LatestReading[] => {
      const signal = signalById(Number(row.signal_id));
      if (!signal) return [];
      return [{ signal: signal.key, name: signal.name, unit: signal.unit, value: Number(row.value), time: toIso(row.time) ?? '' }];
    });
    return { vehicleId, readings };
  }

  async range(vehicleId: string, query: RangeQuery): Promise<TelemetrySeries> {
    const signal = signalByKey(query.signal);
    if (!signal) {
      throw apiError('SIGNAL_UNKNOWN', `Unknown signal "${query.signal}"; see GET /api/signals`, { signal: query.signal });
    }
    // Open-ended ranges run until now; `limit` bounds what a wide range can cost.
    const to = query.to ?? this.now();
    const from = query.from ?? new Date(to.getTime() - TELEMETRY_DEFAULTS.windowMs);
    if (from.getTime() > to.getTime()) {
      throw apiError('TIME_RANGE_INVALID', `from (${from.toISOString()}) is after to (${to.toISOString()})`);
    }
    const limit = Math.min(query.limit ?? TELEMETRY_DEFAULTS.limit, TELEMETRY_DEFAULTS.maxLimit);
    await this.vehicles.assertExists(vehicleId);
    // One extra row tells us whether the limit cut the series without a second COUNT query.
    const rows = await this.telemetry.range(vehicleId, signal.id, from, to, limit + 1);
    const truncated = rows.length > limit;
    const points = rows.slice(0, limit).map((row) => ({ time: toIso(row.time) ?? '', value: Number(row.value) }));
    return { vehicleId, signal: signal.key, unit: signal.unit, from: from.toISOString(), to: to.toISOString(), points, truncated };
  }
}
