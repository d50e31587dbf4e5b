import type { Queryable } from '@clutch/db';

export interface ReadingRow {
  signal: string;
  time: Date | string;
  value: number;
}

export class AiRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * One vehicle's samples of the given signals in [from, to], the newest `limit` rows (newest
   * first), each with its signal's catalogue key (the ML package works on keys, the table on ids).
   */
  async readings(
    vehicleId: string,
    signalKeys: readonly string[],
    from: Date,
    to: Date,
    limit: number,
  ): Promise<ReadingRow[]> {
    const { rows } = await this.db.query<ReadingRow>(
      `SELECT sg.key AS signal, s.time, s.value
         FROM samples s
         JOIN signals sg ON sg.id = s.signal_id
        WHERE s.vehicle_id = $1 AND sg.key = ANY($2::text[]) AND s.time >= $3 AND s.time <= $4
        ORDER BY s.time DESC, s.signal_id
        LIMIT $5`,
      [vehicleId, signalKeys, from, to, limit],
    );
    return rows;
  }
}
