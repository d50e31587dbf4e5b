import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export interface DeadLetterRow {
  id: string;
  received_at: Date | string;
  tenant_id: string | null;
  device_id: string | null;
  topic: string;
  reason: string;
  size_bytes: number;
  /** The first bytes of the payload (listing) or all of it (find). */
  payload: Uint8Array;
  replayed_at: Date | string | null;
  replay_attempts: number;
  last_replay_error: string | null;
}

const COLUMNS =
  'id::text AS id, received_at, tenant_id, device_id, topic, reason, octet_length(payload) AS size_bytes, replayed_at, replay_attempts, last_replay_error';

/**
 * Newest first on (received_at, seq). The keyset compares the table's bigint id (`seq`), never the
 * text alias clients see: text order ("9" > "31") skipped letters between pages (finding 12.8).
 */
export const DEAD_LETTERS_LISTING: Listing = { name: 'dead-letters', key: 'received_at', id: 'seq', idType: 'bigint' };

export class DeadLettersRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * A page, newest first; only the first `headBytes` of each payload are read. `before` is the
   * deprecated id cursor (`nextBefore`), kept for one release.
   */
  list(
    filter: { tenantId?: string | undefined; before?: string | undefined; headBytes: number },
    page: PageRequest,
  ): Promise<Page<DeadLetterRow>> {
    return keysetPage<DeadLetterRow>(
      this.db,
      DEAD_LETTERS_LISTING,
      {
        sql: `SELECT dead_letters.id AS seq, ${COLUMNS}, substring(payload FROM 1 FOR $3) AS payload
                FROM dead_letters
               WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::bigint IS NULL OR dead_letters.id < $2::bigint)`,
        params: [filter.tenantId ?? null, filter.before ?? null, filter.headBytes],
      },
      page,
    );
  }

  async find(id: string): Promise<DeadLetterRow | undefined> {
    const { rows } = await this.db.query<DeadLetterRow>(
      `SELECT ${COLUMNS}, payload FROM dead_letters WHERE id = $1::bigint`,
      [id],
    );
    return rows[0];
  }

  async recordReplay(
    id: string,
    outcome: { stored: true } | { stored: false; reason: string },
  ): Promise<DeadLetterRow | undefined> {
    await this.db.query(
      `UPDATE dead_letters
          SET replay_attempts = replay_attempts + 1,
              replayed_at = CASE WHEN $2 THEN now() ELSE replayed_at END,
              last_replay_error = CASE WHEN $2 THEN NULL ELSE $3 END
        WHERE id = $1::bigint`,
      [id, outcome.stored, outcome.stored ? null : outcome.reason],
    );
    return this.find(id);
  }
}
