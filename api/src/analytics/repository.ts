import type { Queryable } from '@clutch/db';

export interface DayRow {
  day: string;
  distance_km: number;
  driving_minutes: number;
  engine_on_minutes: number;
  idle_minutes: number;
  max_speed: number | null;
}

export const MOVING_KMH = 2;
export const IGNITION_RPM = 300;

export class AnalyticsRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Per-day driving figures from the 1-minute rollups: a minute's distance is its mean speed over one
   * minute; a minute is driving when its mean speed is above MOVING_KMH, engine-on when its mean rpm
   * is above IGNITION_RPM, idle when the engine was on and the vehicle never moved.
   */
  async perDay(vehicleId: string, speedId: number, rpmId: number, from: Date, to: Date): Promise<DayRow[]> {
    const { rows } = await this.db.query<DayRow>(
      `WITH s AS (
         SELECT bucket, sum / n AS avg, max FROM sample_rollups_1m
          WHERE vehicle_id = $1 AND signal_id = $2 AND bucket >= $4 AND bucket < $5
       ), r AS (
         SELECT bucket, sum / n AS avg FROM sample_rollups_1m
          WHERE vehicle_id = $1 AND signal_id = $3 AND bucket >= $4 AND bucket < $5
       ), m AS (
         SELECT coalesce(s.bucket, r.bucket) AS bucket, s.avg AS speed_avg, s.max AS speed_max, r.avg AS rpm_avg
           FROM s FULL JOIN r ON r.bucket = s.bucket
       )
       SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
              coalesce(sum(speed_avg), 0) / 60.0 AS distance_km,
              count(*) FILTER (WHERE speed_avg > ${MOVING_KMH})::int AS driving_minutes,
              count(*) FILTER (WHERE rpm_avg > ${IGNITION_RPM})::int AS engine_on_minutes,
              count(*) FILTER (WHERE rpm_avg > ${IGNITION_RPM} AND coalesce(speed_max, 0) <= ${MOVING_KMH})::int AS idle_minutes,
              max(speed_max) AS max_speed
         FROM m
        GROUP BY 1
        ORDER BY 1`,
      [vehicleId, speedId, rpmId, from, to],
    );
    return rows;
  }
}
