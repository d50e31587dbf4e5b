import type { Database } from '@clutch/db';

/** Deletes events delivered more than olderThanSeconds ago (run it from a cron job); returns how many. */
export async function pruneDeliveredEvents(db: Database, olderThanSeconds: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM outbox_events WHERE delivered_at < now() - make_interval(secs => $1)`,
    [olderThanSeconds],
  );
  return rowCount;
}
