import type { Queryable } from '@clutch/db';

export interface LatestRow {
  signal_id: number;
  time: Date | string;
  value: number;
}

export interface PointRow {
  /** The sample time as ISO 8601 (what the API answers), formatted by the database... */
  iso: string | null;
  /** ...or, outside years 1-9999 where its format and JavaScript's differ, the time itself. */
  time: Date | string | null;
  value: number;
}

/**
 * A timestamptz column as JavaScript's toISOString() writes it (UTC, milliseconds, `Z`) for years
 * 1-9999, where the two formats agree; null elsewhere. A raw series can be 100,000 points: parsing
 * each time into a Date only to print it again cost the API more than the query.
 */
const ISO_TIME = (column: string): string =>
  `CASE WHEN ${column} >= '0001-01-01T00:00:00Z' AND ${column} < '10000-01-01T00:00:00Z'
        THEN to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END`;

export class TelemetryRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Newest sample per signal since `since`. Samples are keyed (vehicle, time, signal), so probing
   * the key once per signal could walk a month of a busy car's samples for a signal it never sends.
   * Instead: the raw samples from the oldest minute the rollups do not cover yet (and at least from
   * `rawFrom`), newest per signal in one pass; for the signals not seen there, the newest rollup
   * minute that has them, then the newest sample inside that one minute. Every step is a short
   * range of a key, however long the car has been sending. Samples dated after `until` are left out:
   * a clock far ahead must not pin the value for ever (rollup minutes end before `rawFrom`, so only
   * the raw read needs the bound).
   */
  async latest(
    vehicleId: string,
    signalIds: readonly number[],
    since: Date,
    rawFrom: Date,
    until: Date,
  ): Promise<LatestRow[]> {
    const { rows } = await this.db.query<LatestRow>(
      `WITH RECURSIVE horizon AS (
         SELECT greatest(least(coalesce(clutch_unrolled_since($1), $4::timestamptz), $4::timestamptz), $3::timestamptz) AS raw_from
       ), recent AS (
         SELECT DISTINCT ON (s.signal_id) s.signal_id, s.time, s.value
           FROM samples s, horizon h
          WHERE s.vehicle_id = $1 AND s.time >= h.raw_from AND s.time <= $5::timestamptz AND s.signal_id = ANY($2::smallint[])
          ORDER BY s.signal_id, s.time DESC
       ), walk(signal_id) AS (
         -- The signals this car has rollups of, one index probe each (a loose index scan): the
         -- catalogue holds over a thousand vehicle-specific signals and a car sends a few dozen.
         (SELECT r.signal_id FROM sample_rollups_1m r WHERE r.vehicle_id = $1 ORDER BY r.signal_id LIMIT 1)
         UNION ALL
         SELECT (SELECT r.signal_id FROM sample_rollups_1m r
                  WHERE r.vehicle_id = $1 AND r.signal_id > w.signal_id ORDER BY r.signal_id LIMIT 1)
           FROM walk w WHERE w.signal_id IS NOT NULL
       )
       SELECT signal_id, time, value FROM recent
       UNION ALL
       SELECT g.signal_id, x.time, x.value
         FROM horizon h
        CROSS JOIN (SELECT w.signal_id FROM walk w WHERE w.signal_id = ANY($2::smallint[])) AS g
        CROSS JOIN LATERAL (
              SELECT r.bucket FROM sample_rollups_1m r
               WHERE r.vehicle_id = $1 AND r.signal_id = g.signal_id
                 AND r.bucket >= date_trunc('minute', $3::timestamptz) AND r.bucket < h.raw_from
               ORDER BY r.bucket DESC
               LIMIT 1) b
        CROSS JOIN LATERAL (
              SELECT s.time, s.value FROM samples s
               WHERE s.vehicle_id = $1 AND s.signal_id = g.signal_id
                 AND s.time >= greatest(b.bucket, $3::timestamptz) AND s.time < least(b.bucket + interval '1 minute', h.raw_from)
               ORDER BY s.time DESC
               LIMIT 1) x
        WHERE NOT EXISTS (SELECT 1 FROM recent WHERE recent.signal_id = g.signal_id)
        ORDER BY signal_id`,
      [vehicleId, signalIds, since, rawFrom, until],
    );
    return rows;
  }

  /** Samples of one signal in [from, to], oldest first, at most `limit` rows. */
  async range(vehicleId: string, signalId: number, from: Date, to: Date, limit: number): Promise<PointRow[]> {
    const { rows } = await this.db.query<PointRow>(
      `SELECT ${ISO_TIME('time')} AS iso,
              CASE WHEN time < '0001-01-01T00:00:00Z' OR time >= '10000-01-01T00:00:00Z' THEN time END AS time,
              value
         FROM samples
        WHERE vehicle_id = $1 AND signal_id = $2 AND time >= $3 AND time <= $4
        ORDER BY samples.time
        LIMIT $5`,
      [vehicleId, signalId, from, to, limit],
    );
    return rows;
  }

  /**
   * `range` as the API answers it, `time value` pairs joined by the database into one text: one
   * value for the driver to decode instead of three per point. A 15-minute series is 900 rows, and
   * the driver's per-row work was the largest part of the API's main-thread time for this route;
   * splitting one string costs about half of it (measured: 1.2 -> 0.6 ms of the client per 1,100
   * points, for 0.1-0.3 ms more of PostgreSQL's, which has more cores). `value::text` is float8's
   * shortest exact text, so `Number` reads back the very double stored (NaN and Infinity too, as
   * the row path's parser did). Neither part holds a space or a comma. Undefined when a point lies
   * outside years 1-9999, where the database's format and JavaScript's differ: `range` answers those.
   */
  async rangePoints(
    vehicleId: string,
    signalId: number,
    from: Date,
    to: Date,
    limit: number,
  ): Promise<{ time: string; value: number }[] | undefined> {
    const { rows } = await this.db.query<{ points: string | null; exotic: boolean }>(
      `SELECT string_agg(p.iso || ' ' || p.value::text, ',' ORDER BY p.time) AS points,
              coalesce(bool_or(p.iso IS NULL), false) AS exotic
         FROM (SELECT time, ${ISO_TIME('time')} AS iso, value
                 FROM samples
                WHERE vehicle_id = $1 AND signal_id = $2 AND time >= $3 AND time <= $4
                ORDER BY samples.time
                LIMIT $5) p`,
      [vehicleId, signalId, from, to, limit],
    );
    const row = rows[0];
    if (!row || row.exotic) return undefined;
    if (row.points === null) return [];
    return row.points.split(',').map((pair) => {
      const space = pair.indexOf(' ');
      return { time: pair.slice(0, space), value: Number(pair.slice(space + 1)) };
    });
  }
}

export interface BucketRow {
  /** Bucket start as ISO 8601, or null outside years 1-9999 (then `time` has it). */
  iso: string | null;
  time: Date | string | null;
  n: number;
  sum: number;
  min: number;
  max: number;
}

export type RollupTable = 'sample_rollups_1m' | 'sample_rollups_1h';

export class RollupRepository {
  constructor(private readonly db: Queryable) {}

  /** Buckets of one signal whose start lies in [from, to], oldest first, at most `limit` rows. */
  async range(
    table: RollupTable,
    vehicleId: string,
    signalId: number,
    from: Date,
    to: Date,
    limit: number,
  ): Promise<BucketRow[]> {
    const { rows } = await this.db.query<BucketRow>(
      `SELECT ${ISO_TIME('bucket')} AS iso,
              CASE WHEN bucket < '0001-01-01T00:00:00Z' OR bucket >= '10000-01-01T00:00:00Z' THEN bucket END AS time,
              n::int AS n, sum, min, max
         FROM ${table}
        WHERE vehicle_id = $1 AND signal_id = $2 AND bucket >= $3 AND bucket <= $4
        ORDER BY bucket
        LIMIT $5`,
      [vehicleId, signalId, from, to, limit],
    );
    return rows;
  }
}
