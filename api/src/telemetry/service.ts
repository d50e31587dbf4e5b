import { signalById, signalCatalogue } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import type { Scope } from '../auth/scope.js';
import { resolveSignal } from '../shared/signals.js';
import { resolveRange, toIso } from '../shared/time.js';
import type { VehicleDataPermission, VehicleDataTarget } from '../vehicles/access.js';
import { requireVehicle, type OwnVehicles } from '../vehicles/own-vehicles.js';
import { ALL_TENANTS, type CachedReading, type LatestLookup, type LatestValuesCache } from './latest-cache.js';
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

/** Every signal of the catalogue: what "latest" answers with, and what a cache fill holds. */
const ALL_SIGNAL_IDS: readonly number[] = signalCatalogue.map((s) => s.id);

/**
 * One request's read of latest values: consulted the cache before the transaction, answers inside
 * it (from the cache, or from the database on a miss), and fills the cache after it.
 */
export interface LatestRead {
  /**
   * The newest sample of each of these signals, as TelemetryRepository.latest orders them (by
   * signal), of the vehicle this transaction found (requireVehicleData): a vehicle shared with the
   * caller's tenant is read from the database, never from (or into) the cache (see prepareLatest).
   */
  rows(q: Queryable, signalIds: readonly number[], vehicle: VehicleDataTarget): Promise<LatestRow[]>;
  /**
   * The answer from the cache without a transaction, when the cache had the view; undefined on a
   * miss. Only for a vehicle already known to be the caller's tenant's own (own-vehicles.ts): it
   * skips the check `rows` relies on its caller for.
   */
  cached: ((signalIds: readonly number[]) => LatestRow[]) | undefined;
  /** After the transaction: hands what a miss read from the database to the cache (never throws). */
  settle(): Promise<void>;
}

export class TelemetryService {
  constructor(
    private readonly now: () => Date = () => new Date(),
    /** Latest values kept by ingest (latest-cache.ts); absent, every read goes to the samples. */
    private readonly cache?: LatestValuesCache,
    /** Vehicles a partner's tenant is known to own (own-vehicles.ts); absent, every request checks. */
    private readonly ownVehicles?: OwnVehicles,
  ) {}

  /** requireVehicleData, without its statement for a vehicle the caller's tenant is known to own. */
  requireVehicle(
    scope: Scope,
    q: Queryable,
    vehicleId: string,
    permission: VehicleDataPermission,
  ): Promise<VehicleDataTarget> {
    return requireVehicle(this.ownVehicles, scope, q, vehicleId, permission);
  }

  /** The vehicle as the check would find it, when the caller's tenant is known to own it (no statement); else undefined. */
  knownOwn(scope: Scope, vehicleId: string): VehicleDataTarget | undefined {
    return this.ownVehicles?.known(scope, vehicleId);
  }

  async latest(scope: Scope, vehicleId: string): Promise<{ vehicleId: string; readings: LatestReading[] }> {
    const read = await this.prepareLatest(scope, vehicleId, this.now());
    // A known own vehicle with cached values needs no transaction at all: nothing to check, nothing to read.
    const own = this.ownVehicles?.known(scope, vehicleId);
    const rows =
      own && read.cached
        ? read.cached(ALL_SIGNAL_IDS)
        : await scope.run(async (q) => {
            const vehicle = await this.requireVehicle(scope, q, vehicleId, 'telemetry:read');
            return read.rows(q, ALL_SIGNAL_IDS, vehicle);
          });
    await read.settle();
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
   * Starts a read of latest values as of `now` for this caller: asks the cache first (outside any
   * transaction). The caller still checks the vehicle in its own transaction, exactly as without a
   * cache: the cache is keyed by vehicle and by the caller's view (its tenant, or all tenants for
   * administrators), so it only ever answers with samples that caller's transaction could read, and
   * only after that transaction found the vehicle. A reading the bounds of `now` would leave out
   * (dated after `until`: a clock far ahead) sends the read to the database, which knows the one
   * before it; readings older than `since` are simply not "latest". The health summary reads its
   * signals through this too, with the same bounds, so a future-dated sample never decides a
   * vehicle's health either.
   *
   * A vehicle shared with the caller's tenant (issue 14's shares) is another tenant's: ingest
   * keeps its samples in the owner's view only, so an entry under the grantee's view would be a copy
   * nobody updates, and would outlive the share. Such a read goes to the database (row-level
   * security admits the shared samples while the share covers telemetry:read) and fills nothing.
   */
  async prepareLatest(scope: Scope, vehicleId: string, now: Date): Promise<LatestRead> {
    const { since, rawFrom, until } = latestBounds(now);
    const cache = this.cache;
    const view = scope.tenantId ?? ALL_TENANTS;
    let lookup: LatestLookup = { hit: false, ticket: null };
    if (cache) {
      try {
        lookup = await cache.read(view, vehicleId);
      } catch {
        // The cache is unreachable (Redis down): the database answers, nothing is filled.
      }
    }
    let cached: CachedReading[] | undefined;
    if (lookup.hit && lookup.readings.every((r) => r.timeMs <= until.getTime())) {
      cached = lookup.readings.filter((r) => r.timeMs >= since.getTime()).sort((a, b) => a.signalId - b.signalId);
    }
    const ticket = lookup.hit ? null : lookup.ticket;
    let filled: LatestRow[] | undefined;
    const fromCache = (readings: CachedReading[], signalIds: readonly number[]): LatestRow[] => {
      const wanted = new Set(signalIds);
      return readings
        .filter((r) => wanted.has(r.signalId))
        .map((r) => ({ signal_id: r.signalId, time: new Date(r.timeMs), value: r.value }));
    };
    return {
      cached: cached ? (signalIds) => fromCache(cached, signalIds) : undefined,
      async rows(q, signalIds, vehicle) {
        if (vehicle.shared) {
          filled = undefined;
          return new TelemetryRepository(q).latest(vehicleId, signalIds, since, rawFrom, until);
        }
        if (cached) return fromCache(cached, signalIds);
        // A fill must hold every signal, whatever this caller asked for.
        const filling = cache !== undefined && ticket !== null;
        const rows = await new TelemetryRepository(q).latest(
          vehicleId,
          filling ? ALL_SIGNAL_IDS : signalIds,
          since,
          rawFrom,
          until,
        );
        if (!filling) return rows;
        filled = rows;
        const wanted = new Set(signalIds);
        return rows.filter((r) => wanted.has(Number(r.signal_id)));
      },
      async settle() {
        if (!cache || ticket === null || !filled) return;
        const readings = filled.map((r) => ({
          signalId: Number(r.signal_id),
          timeMs: new Date(toIso(r.time) ?? 0).getTime(),
          value: Number(r.value),
        }));
        await cache.fill(view, vehicleId, ticket, readings).catch(() => {
          // Not filled: the next read misses again and reads the database; the answer given was right.
        });
      },
    };
  }

  async range(scope: Scope, vehicleId: string, query: RangeQuery): Promise<TelemetrySeries> {
    const signal = resolveSignal(query.signal);
    const { from, to } = resolveRange(query.from, query.to, TELEMETRY_DEFAULTS.windowMs, this.now());
    const limit = Math.min(query.limit ?? TELEMETRY_DEFAULTS.limit, TELEMETRY_DEFAULTS.maxLimit);
    // One extra row tells us whether the limit cut the series without a second COUNT query.
    const found = await scope.run(async (q) => {
      await this.requireVehicle(scope, q, vehicleId, 'telemetry:read');
      const repo = new TelemetryRepository(q);
      const points = await repo.rangePoints(vehicleId, signal.id, from, to, limit + 1);
      if (points) return points;
      const rows = await repo.range(vehicleId, signal.id, from, to, limit + 1);
      return rows.map((row) => ({ time: row.iso ?? toIso(row.time) ?? '', value: row.value }));
    });
    const truncated = found.length > limit;
    // Number(): as before, whatever type the row path's driver hands a float8 over in.
    const points = found.slice(0, limit).map((p) => ({ time: p.time, value: Number(p.value) }));
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
      await this.requireVehicle(scope, q, vehicleId, 'telemetry:read');
      return new RollupRepository(q).range(rollup.table, vehicleId, signal.id, from, range.to, limit + 1);
    });
    const points = rows.slice(0, limit).map((r) => ({
      time: r.iso ?? toIso(r.time) ?? '',
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
