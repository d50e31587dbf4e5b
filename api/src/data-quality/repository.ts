import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export interface DataQualityRow {
  id: string;
  detected_at: Date | string;
  device_id: string;
  kind: 'seq_gap' | 'conflicting_duplicate' | 'seq_reset';
  detail: Record<string, unknown>;
}

/**
 * Newest first on (detected_at, seq). The keyset compares the table's bigint id (`seq`), never the
 * text alias clients see (finding 12.8: text order skipped rows between pages).
 */
export const DATA_QUALITY_LISTING: Listing = { name: 'data-quality', key: 'detected_at', id: 'seq', idType: 'bigint' };

/** Reads `data_quality_events` (written by ingest, ingest/src/data-quality/repository.ts). */
export class DataQualityRepository {
  constructor(private readonly db: Queryable) {}

  /** A page of a vehicle's findings; `before` is the deprecated id cursor (`nextBefore`), kept for one release. */
  list(
    vehicleId: string,
    filter: { before?: string | undefined; kind?: string | undefined },
    page: PageRequest,
  ): Promise<Page<DataQualityRow>> {
    return keysetPage<DataQualityRow>(
      this.db,
      DATA_QUALITY_LISTING,
      {
        sql: `SELECT e.id AS seq, e.id::text AS id, e.detected_at, e.device_id, e.kind, e.detail
                FROM data_quality_events e
               WHERE e.vehicle_id = $1 AND ($2::bigint IS NULL OR e.id < $2::bigint) AND ($3::text IS NULL OR e.kind = $3)`,
        params: [vehicleId, filter.before ?? null, filter.kind ?? null],
      },
      page,
    );
  }
}
