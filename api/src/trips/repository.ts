import type { Queryable } from '@clutch/db';

export interface SeriesRow {
  time: Date | string;
  value: number;
}

export class TripSamplesRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Several signals' samples in [from, to], oldest first, at most `limit` rows in all, by signal id.
   * One range of the key (vehicle, time, signal) read once for every signal, rather than once per
   * signal: each pass would read the car's other signals too.
   */
  async series(
    vehicleId: string,
    signalIds: readonly number[],
    from: Date,
    to: Date,
    limit: number,
  ): Promise<Map<number, SeriesRow[]>> {
    const { rows } = await this.db.query<SeriesRow & { signal_id: number }>(
      `SELECT signal_id, time, value FROM samples
        WHERE vehicle_id = $1 AND time >= $2 AND time <= $3 AND signal_id = ANY($4::smallint[])
        ORDER BY time, signal_id
        LIMIT $5`,
      [vehicleId, from, to, signalIds, limit],
    );
    const bySignal = new Map<number, SeriesRow[]>(signalIds.map((id) => [id, []]));
    for (const r of rows) bySignal.get(Number(r.signal_id))?.push({ time: r.time, value: r.value });
    return bySignal;
  }
}
