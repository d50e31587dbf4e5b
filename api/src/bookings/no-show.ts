import type { Database, Queryable } from '@clutch/db';
import { transitionRepairOrder, type TransitionSide } from '../repair-orders/lifecycle.js';
import { DEFAULT_BOOKING_RULES } from './availability.js';
import { BookingsRepository } from './repository.js';

/**
 * No-shows and expired holds, worked by scheduled jobs through the durable queue (@clutch/jobs,
 * platform/src/builders/jobs.ts registers them). Both are idempotent: a job run twice (at least once
 * delivery) finds nothing left to do the second time.
 */

export const BOOKING_CRONS = {
  /** Confirmed bookings whose customer did not come within the shop's grace period. */
  noShow: { queue: 'bookings.no-show', cron: '*/5 * * * *' },
  /** Holds past their expiry: reservations released, bookings expired (attempts also do it for their own resources). */
  expireHolds: { queue: 'bookings.expire-holds', cron: '* * * * *' },
} as const;

/**
 * Marks one confirmed booking a no-show in the caller's transaction: the booking (with the shop's
 * no-show fee), its reservations released (what is left of the slot is free again), the repair order
 * confirmed -> no_show through the lifecycle, and `booking.updated`.
 */
export async function markNoShow(
  q: Queryable,
  booking: { id: string; repairOrderId: string | null },
  feeMinor: number,
  actor: string,
  side: TransitionSide,
): Promise<void> {
  await q.query(`UPDATE bookings SET status = 'no_show', no_show_fee_minor = $2, updated_at = now() WHERE id = $1`, [
    booking.id,
    feeMinor,
  ]);
  const repo = new BookingsRepository(q);
  await repo.releaseReservations(booking.id);
  if (booking.repairOrderId)
    await transitionRepairOrder(q, { repairOrderId: booking.repairOrderId, to: 'no_show', actor, side });
  await repo.announce(booking.id);
}

/** The platform's own transactions (the owner, every tenant): what the jobs need of the Database. */
export type SystemTransactions = Pick<Database, 'transaction'>;

/**
 * Every confirmed booking whose start plus its shop's grace period has passed while its repair order
 * is still `confirmed` (nobody checked the car in) becomes a no-show. Batches of `batch`, each its
 * own transaction; rows another worker holds are skipped. Returns how many it marked.
 */
export async function markNoShows(db: SystemTransactions, options: { batch?: number } = {}): Promise<number> {
  const batch = options.batch ?? 100;
  let marked = 0;
  for (;;) {
    const n = await db.transaction(async (q) => {
      const { rows } = await q.query<{ id: string; repair_order_id: string | null; fee: number }>(
        `SELECT b.id, ro.id AS repair_order_id, coalesce(r.no_show_fee_minor, $3::int) AS fee
           FROM bookings b
           JOIN repair_orders ro ON ro.booking_id = b.id AND ro.status = 'confirmed'
           LEFT JOIN shop_booking_rules r ON r.partner_id = b.partner_id
          WHERE b.status = 'confirmed'
            AND b.starts_at + make_interval(mins => coalesce(r.no_show_grace_minutes, $2::int)) < now()
          ORDER BY b.starts_at
          LIMIT $1
          FOR UPDATE OF b, ro SKIP LOCKED`,
        [batch, DEFAULT_BOOKING_RULES.noShowGraceMinutes, DEFAULT_BOOKING_RULES.noShowFeeMinor],
      );
      for (const row of rows)
        await markNoShow(q, { id: row.id, repairOrderId: row.repair_order_id }, Number(row.fee), 'system', 'system');
      return rows.length;
    });
    marked += n;
    if (n < batch) return marked;
  }
}

/** Ends every expired hold (the sweeper); returns how many. */
export async function expireHolds(db: SystemTransactions): Promise<number> {
  return db.transaction(async (q) => {
    const { rows } = await q.query<{ n: number }>('SELECT booking_release_expired_holds(NULL) AS n');
    return Number(rows[0]!.n);
  });
}
