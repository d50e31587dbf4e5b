import type { Queryable } from '@clutch/db';

export interface LatestRow {
  signal_id: number;
  time: Date | string;
  value: number;
}

export interface PointRow {
  time: Date | string;
  value: number;
}

export class TelemetryRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Newest sample per signal since `since`. One index probe per signal on the (vehicle_id, signal_id,
   * time) key instead of DISTINCT ON over every sample in the window: cost stays flat however busy
   * the vehicle was.
   */
  async latest(vehicleId: string, signalIds: readonly number[], since: Date): Promise<LatestRow[]> {
    const { rows } = await this.db.query<LatestRow>(
      `SELECT s.signal_id, x.time, x.value
         FROM unnest($2::smallint[]) AS s(signal_id)
        CROSS JOIN LATERAL (
              SELECT time, value
                FROM samples
               WHERE vehicle_id = $1 AND signal_id = s.signal_id AND time >= $3
               ORDER BY time DESC
               LIMIT 1) x
        ORDER BY s.signal_id`,
      [vehicleId, signalIds, since],
    );
    return rows;
  }

  /** Samples of one signal in [from, to], oldest first, at most `limit` rows. */
  async range(vehicleId: string, signalId: number, from: Date, to: Date, limit: number): Promise<PointRow[]> {
    const { rows } = await this.db.query<PointRow>(
      `SELECT time, value
         FROM samples
        WHERE vehicle_id = $1 AND signal_id = $2 AND time >= $3 AND time <= $4
        ORDER BY time
        LIMIT $5`,
      [vehicleId, signalId, from, to, limit],
    );
    return rows;
  }
}

export interface BucketRow {
  time: Date | string;
  n: number;
  sum: number;
  min: number;
  max: number;
}

export type RollupTable = 'sample_rollups_1m' | 'sample_rollups_1h';

export class RollupRepository {
  constructor(private readonly db: Queryable) {}

  /** Buckets of one signal whose start lies in [from, to], oldest first, at most `limit` rows. */
  async range(table: RollupTable, vehicleId: string, signalId: number, from: Date, to: Date, limit: number): Promise<BucketRow[]> {
    const { rows } = await this.db.query<BucketRow>(
      `SELECT bucket AS time, n::int AS n, sum, min, max
         FROM ${table}
        WHERE vehicle_id = $1 AND signal_id = $2 AND bucket >= $3 AND bucket <= $4
        ORDER BY bucket
        LIMIT $5`,
      [vehicleId, signalId, from, to, limit],
    );
    return rows;
  }
}
