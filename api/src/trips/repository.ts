import type { Queryable } from '@clutch/db';

export interface SeriesRow {
  time: Date | string;
  value: number;
}

export class TripSamplesRepository {
  constructor(private readonly db: Queryable) {}

  /** One signal's samples in [from, to], oldest first: one range of the key (vehicle, time, signal), the signal checked in the index. */
  async series(vehicleId: string, signalId: number, from: Date, to: Date, limit: number): Promise<SeriesRow[]> {
    const { rows } = await this.db.query<SeriesRow>(
      `SELECT time, value FROM samples
        WHERE vehicle_id = $1 AND signal_id = $2 AND time >= $3 AND time <= $4
        ORDER BY time
        LIMIT $5`,
      [vehicleId, signalId, from, to, limit],
    );
    return rows;
  }
}
