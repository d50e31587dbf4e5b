import type { Database } from '@clutch/db';
import type { JobQueue } from '@clutch/jobs';
import { ledger as defaultLedger } from '../ledger/ledger.js';
import type { Ledger } from '../ledger/types.js';
import type { PayoutProvider } from '../payments/providers/provider.js';
import { runWeeklyPayouts } from './payouts.js';

/**
 * The weekly payouts (docs/commissions.md, "Payouts"): an hourly cron; each run pays every shop whose
 * local week (Monday 00:00 in the shop's time zone) began since its last weekly payout, so a shop is
 * paid once a week, within the hour after its own Monday starts, wherever it is.
 */
export const PAYOUT_CRON = { queue: 'commissions.payouts', cron: '7 * * * *' } as const;
export const PAYOUT_SETTINGS = { retryLimit: 5, retryDelay: 60, retryBackoff: true, expireIn: 900 } as const;

export interface PayoutJobDeps {
  db: Pick<Database, 'transaction'>;
  /** Stripe Connect; absent, the run logs that there is nothing to pay through and does nothing. */
  payouts?: PayoutProvider | undefined;
  ledger?: Ledger | undefined;
  now?: () => Date;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** One run of the weekly payouts (the cron's handler; tests call it directly, twice to prove a retry is safe). */
export async function payoutJob(deps: PayoutJobDeps): Promise<void> {
  if (!deps.payouts) {
    deps.logger.info({}, 'weekly payouts: no payout provider configured; nothing paid');
    return;
  }
  const result = await runWeeklyPayouts({
    tx: (fn) => deps.db.transaction(fn),
    ledger: deps.ledger ?? defaultLedger,
    provider: deps.payouts,
    now: deps.now ?? (() => new Date()),
    actor: 'system:payouts',
  });
  const paid = result.outcomes.filter((o) => o.status === 'paid');
  if (paid.length > 0) deps.logger.info({ paid: paid.length }, 'weekly payouts made');
  for (const o of result.outcomes.filter((x) => x.status === 'failed'))
    deps.logger.warn({ partnerId: o.partnerId, reason: o.reason }, 'payout refused by the provider');
  // Partners that failed for a passing reason are retried by the job queue; the others are done.
  if (result.errors.length > 0)
    throw new Error(
      `payouts failed for ${result.errors.map((e) => e.partnerId).join(', ')}: ${result.errors[0]!.error}`,
    );
}

export async function definePayoutJobs(
  queue: Pick<JobQueue, 'define' | 'schedule'>,
  deps: PayoutJobDeps,
): Promise<void> {
  await queue.define(PAYOUT_CRON.queue, () => payoutJob(deps), PAYOUT_SETTINGS);
  await queue.schedule(PAYOUT_CRON.queue, PAYOUT_CRON.cron);
}
