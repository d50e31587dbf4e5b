import type { Queryable } from '@clutch/db';

export interface DataQualityRow {
  id: string;
  detected_at: Date | string;
  device_id: string;
  kind: 'seq_gap' | 'conflicting_duplicate' | 'seq_reset';
  detail: Record<string, unknown>;
}

/** Reads `data_quality_events` (written by ingest, ingest/src/data-quality/repository.ts). */
export class DataQualityRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * A vehicle's findings, newest first, keyset-paginated on id. ORDER BY and the cursor compare the
   * table's bigint column, never the text alias (finding 12.8: text order skipped rows between pages).
   */
  async list(vehicleId: string, filter: { before?: string | undefined; kind?: string | undefined; limit: number }): Promise<DataQualityRow[]> {
    const { rows } = await this.db.query<DataQualityRow>(
      `SELECT e.id::text AS id, e.detected_at, e.device_id, e.kind, e.detail
         FROM data_quality_events e
        WHERE e.vehicle_id = $1 AND ($2::bigint IS NULL OR e.id < $2::bigint) AND ($3::text IS NULL OR e.kind = $3)
        ORDER BY e.id DESC
        LIMIT $4`,
      [vehicleId, filter.before ?? null, filter.kind ?? null, filter.limit],
    );
    return rows;
  }
}
