import type { Database } from '@clutch/db';
import { ledger } from './ledger.js';

/** The ledger's scheduled job (platform/src/builders/jobs.ts registers it, like BOOKING_CRONS). */
export const LEDGER_CRONS = {
  /** Holds past their timeout are voided (expire_pending): the money returns to the payer. */
  expireHolds: { queue: 'ledger.expire-holds', cron: '* * * * *' },
} as const;

/**
 * Expires every hold past its timeout, in the platform's own transaction (the holds of every
 * tenant). Idempotent: an expiry's id derives from its hold's, and a hold resolves at most once.
 */
export async function expireLedgerHolds(db: Pick<Database, 'transaction'>, now: Date = new Date()): Promise<number> {
  return db.transaction((q) => ledger.expirePending(q, now));
}
