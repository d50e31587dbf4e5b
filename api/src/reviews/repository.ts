import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';
import type { OrderRow } from '../repair-work/order-access.js';

export interface ReviewRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  booking_id: string;
  rating: number;
  text: string;
  author_name: string;
  created_at: Date | string;
  answer: string | null;
  answered_at: Date | string | null;
}

/** Newest first. */
export const REVIEWS_LISTING: Listing = { name: 'partner-reviews', key: 'created_at', id: 'id', idType: 'text' };

const COLUMNS = `id::text AS id, tenant_id, partner_id::text AS partner_id, booking_id::text AS booking_id, rating, text,
  author_name, created_at, answer, answered_at`;

/** `reviews` (db/migrations/027_repair_work.sql); the shop's rating follows by trigger. */
export class ReviewsRepository {
  constructor(private readonly q: Queryable) {}

  async orderOfBooking(bookingId: string): Promise<string | undefined> {
    const { rows } = await this.q.query<{ id: string }>(
      'SELECT id::text AS id FROM repair_orders WHERE booking_id = $1',
      [bookingId],
    );
    return rows[0]?.id;
  }

  /** How the customer is shown: the first word of their display name (what the caller may read of it). */
  async authorName(userId: string | null): Promise<string | undefined> {
    if (userId === null) return undefined;
    const { rows } = await this.q.query<{ name: string }>(
      `SELECT split_part(display_name, ' ', 1) AS name FROM users WHERE id = $1`,
      [userId],
    );
    return rows[0]?.name || undefined;
  }

  async insert(order: OrderRow & { booking_id: string }, review: { rating: number; text: string; author: string }) {
    const { rows } = await this.q.query<ReviewRow>(
      `INSERT INTO reviews (tenant_id, partner_id, booking_id, repair_order_id, customer_tenant_id, customer_user_id,
                            author_name, rating, text)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        order.tenant_id,
        order.partner_id,
        order.booking_id,
        order.id,
        order.customer_tenant_id,
        order.customer_user_id,
        review.author,
        review.rating,
        review.text,
      ],
    );
    return rows[0]!;
  }

  async get(id: string): Promise<ReviewRow | undefined> {
    const { rows } = await this.q.query<ReviewRow>(`SELECT ${COLUMNS} FROM reviews WHERE id = $1`, [id]);
    return rows[0];
  }

  /** Writes the answer unless there is one; undefined when there was. */
  async answer(id: string, text: string, by: string): Promise<ReviewRow | undefined> {
    const { rows } = await this.q.query<ReviewRow>(
      `UPDATE reviews SET answer = $2, answered_at = now(), answered_by = $3
        WHERE id = $1 AND answer IS NULL RETURNING ${COLUMNS}`,
      [id, text, by],
    );
    return rows[0];
  }

  list(partnerId: string, page: PageRequest): Promise<Page<ReviewRow>> {
    return keysetPage<ReviewRow>(
      this.q,
      REVIEWS_LISTING,
      { sql: `SELECT ${COLUMNS} FROM reviews WHERE partner_id = $1`, params: [partnerId] },
      page,
    );
  }

  async partner(partnerId: string): Promise<{ rating_avg: string | number | null; rating_count: number } | undefined> {
    const { rows } = await this.q.query<{ rating_avg: string | number | null; rating_count: number }>(
      'SELECT rating_avg, rating_count FROM partners WHERE id = $1',
      [partnerId],
    );
    return rows[0];
  }
}
