import { signalById, signalCatalogue } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { resolveSignal } from '../shared/signals.js';
import { resolveRange, toIso } from '../shared/time.js';
import { assertVehicle } from '../shared/vehicle-guard.js';
import { RollupRepository, TelemetryRepository, type LatestRow, type RollupTable } from './repository.js';

// ai/ (owned elsewhere) still imports resolveRange from here; new code imports ../shared/.
export { resolveRange } from '../shared/time.js';
export { resolveSignal } from '../shared/signals.js';

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

export interface BucketPoint {
  /** Bucket start. */
  time: string;
  avg: number;
  min: number;
  max: number;
  /** Samples in the bucket. */
  n: number;
}

export interface BucketedSeries extends Omit<TelemetrySeries, 'points'> {
  bucket: Bucket;
  points: BucketPoint[];
}

export const BUCKETS = ['1m', '1h'] as const;
export type Bucket = (typeof BUCKETS)[number];

const ROLLUPS: Record<Bucket, { table: RollupTable; ms: number; defaultWindowMs: number }> = {
  '1m': { table: 'sample_rollups_1m', ms: 60_000, defaultWindowMs: 24 * 3600_000 },
  '1h': { table: 'sample_rollups_1h', ms: 3600_000, defaultWindowMs: 30 * 24 * 3600_000 },
};

export interface RangeQuery {
  signal: string;
  from?: Date | undefined;
  to?: Date | undefined;
  limit?: number | undefined;
  bucket?: Bucket | undefined;
}

export const TELEMETRY_DEFAULTS = {
  windowMs: 15 * 60_000,
  limit: 10_000,
  maxLimit: 100_000,
  /** A value older than this is not "latest" for a live dashboard, and the bound keeps probes on few partitions. */
  latestWindowMs: 30 * 24 * 3600_000,
  /**
   * "Latest" reads at least this much of a car's raw samples (and rollups before it): samples
   * written without rollups (imports, fixtures) still count when they are this recent.
   */
  latestRawMs: 10 * 60_000,
  /**
   * "Latest" ignores samples dated later than now plus this: the clock skew ingest's time window
   * accepts (ingest/src/processors/time-window.ts). Rows stored before that window existed (a
   * sample dated 2121) would otherwise stay the newest value for a century (finding 12.2).
   */
  latestFutureMs: 5 * 60_000,
} as const;

/** The bounds TelemetryRepository.latest reads between, as of `now`. */
export function latestBounds(now: Date): { since: Date; rawFrom: Date; until: Date } {
  return {
    since: new Date(now.getTime() - TELEMETRY_DEFAULTS.latestWindowMs),
    rawFrom: new Date(now.getTime() - TELEMETRY_DEFAULTS.latestRawMs),
    until: new Date(now.getTime() + TELEMETRY_DEFAULTS.latestFutureMs),
  };
}

export class TelemetryService {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async latest(scope: Scope, vehicleId: string): Promise<{ vehicleId: string; readings: LatestReading[] }> {
    const { since, rawFrom, until } = latestBounds(this.now());
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new TelemetryRepository(q).latest(
        vehicleId,
        signalCatalogue.map((s) => s.id),
        since,
        rawFrom,
        until,
      );
    });
    const readings = rows.flatMap((row): LatestReading[] => {
      const signal = signalById(Number(row.signal_id));
      if (!signal) return [];
      return [
        {
          signal: signal.key,
          name: signal.name,
          unit: signal.unit,
          value: Number(row.value),
          time: toIso(row.time) ?? '',
        },
      ];
    });
    return { vehicleId, readings };
  }

  /**
   * The newest value of each of these signals as of `now`, inside the caller's transaction (the
   * health summary reads them with the same bounds as /latest, so a future-dated sample never decides
   * a vehicle's health either).
   */
  latestIn(q: Queryable, vehicleId: string, signalIds: readonly number[], now: Date): Promise<LatestRow[]> {
    const { since, rawFrom, until } = latestBounds(now);
    return new TelemetryRepository(q).latest(vehicleId, signalIds, since, rawFrom, until);
  }

  async range(scope: Scope, vehicleId: string, query: RangeQuery): Promise<TelemetrySeries> {
    const signal = resolveSignal(query.signal);
    const { from, to } = resolveRange(query.from, query.to, TELEMETRY_DEFAULTS.windowMs, this.now());
    const limit = Math.min(query.limit ?? TELEMETRY_DEFAULTS.limit, TELEMETRY_DEFAULTS.maxLimit);
    // One extra row tells us whether the limit cut the series without a second COUNT query.
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new TelemetryRepository(q).range(vehicleId, signal.id, from, to, limit + 1);
    });
    const truncated = rows.length > limit;
    const points = rows.slice(0, limit).map((row) => ({ time: toIso(row.time) ?? '', value: Number(row.value) }));
    return {
      vehicleId,
      signal: signal.key,
      unit: signal.unit,
      from: from.toISOString(),
      to: to.toISOString(),
      points,
      truncated,
    };
  }

  /**
   * The series from the ingest-maintained rollups: every bucket whose start lies in the range (the
   * start is floored to the bucket, so the bucket holding `from` is included).
   */
  async bucketed(scope: Scope, vehicleId: string, query: RangeQuery & { bucket: Bucket }): Promise<BucketedSeries> {
    const signal = resolveSignal(query.signal);
    const rollup = ROLLUPS[query.bucket];
    const range = resolveRange(query.from, query.to, rollup.defaultWindowMs, this.now());
    const from = new Date(Math.floor(range.from.getTime() / rollup.ms) * rollup.ms);
    const limit = Math.min(query.limit ?? TELEMETRY_DEFAULTS.limit, TELEMETRY_DEFAULTS.maxLimit);
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, vehicleId);
      return new RollupRepository(q).range(rollup.table, vehicleId, signal.id, from, range.to, limit + 1);
    });
    const points = rows.slice(0, limit).map((r) => ({
      time: toIso(r.time) ?? '',
      avg: Number(r.sum) / Number(r.n),
      min: Number(r.min),
      max: Number(r.max),
      n: Number(r.n),
    }));
    return {
      vehicleId,
      signal: signal.key,
      unit: signal.unit,
      bucket: query.bucket,
      from: from.toISOString(),
      to: range.to.toISOString(),
      points,
      truncated: rows.length > limit,
    };
  }
}
