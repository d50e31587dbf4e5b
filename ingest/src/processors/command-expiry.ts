import { expireCommands, type Database } from '@clutch/db';
import { appendLiveEvents } from '@clutch/jobs';

/**
 * Ingest's periodic sweep: times out every waiting command past its deadline (the one rule of
 * @clutch/db's expireCommands, which the API applies on read too) and appends each one's `command`
 * event to the outbox in the same transaction, so a timeout is announced exactly when it is stored.
 * Returns how many commands it timed out.
 */
export function sweepExpiredCommands(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    const events = await expireCommands(tx);
    await appendLiveEvents(tx, events);
    return events.length;
  });
}
