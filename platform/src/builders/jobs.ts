import {
  AI_RETRAIN_QUEUE,
  AI_RETRAIN_SETTINGS,
  BOOKING_CRONS,
  CHAT_ATTACHMENT_CRONS,
  cleanupChatAttachments,
  declareNotificationQueues,
  defineAiRetrainWorker,
  defineTelemetryImportWorker,
  TELEMETRY_IMPORT_QUEUE,
  TELEMETRY_IMPORT_SETTINGS,
  defineNotificationEventJobs,
  defineNotificationJobs,
  definePayoutJobs,
  defineReceiptEmailWorker,
  expireHolds,
  expireLedgerHolds,
  INSTALLMENT_CHARGE_QUEUE,
  INSTALLMENT_CHARGE_SETTINGS,
  installmentChargeJob,
  LEDGER_CRONS,
  markNoShows,
  PAYMENT_CRONS,
  PAYMENT_SETTLE_QUEUE,
  PAYMENT_SETTLE_SETTINGS,
  PAYMENT_WEBHOOK_QUEUE,
  PAYMENT_WEBHOOK_SETTINGS,
  paymentJobDeps,
  reconcileYesterday,
  renewHolds,
  runSettleJob,
  runWebhookJob,
  verifyStuckPayments,
  type SettleJobData,
  type WebhookJobData,
  type WiredPayments,
  purgeIdempotencyKeys,
  retrainWith,
  type ChargeJobData,
  type InstallmentJobOptions,
  type PayoutJobDeps,
  type ReceiptMailDeps,
  type ChatKeyRing,
  type NotificationChannels,
  type ObjectStorage,
} from '@clutch/api';
import type { Database } from '@clutch/db';
import { datasetsDir } from '@clutch/firmware-profiles';
import { IDENTITY_RETENTION_SECONDS, pruneIdentityRecords } from '@clutch/identity';
import { createJobQueue, pruneDeliveredEvents, type JobQueue } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';
import { importHistoryWith } from '../cli/import-history.js';

/**
 * The platform's cron jobs. pg-boss keeps schedules in the database, cluster-wide: any number of
 * processes may register them and each occurrence still runs once, on one process working the queue.
 */
export const CRONS = {
  /** Idempotency keys past their 24 h TTL are already ignored; the purge only bounds the table. */
  idempotencyPurge: { queue: 'idempotency.purge', cron: '17 * * * *' },
  /** Delivered outbox events are kept a week for inspection, then deleted. */
  outboxPrune: { queue: 'outbox.prune', cron: '43 3 * * *', keepSeconds: 7 * 24 * 3600 },
  /** Sessions (with their refresh tokens) and account tokens that ended 30 days ago; the audit log keeps the trail. */
  identityPrune: { queue: 'identity.prune', cron: '29 4 * * *', keepSeconds: IDENTITY_RETENTION_SECONDS },
} as const;

export interface RunningJobs {
  /** Enqueue from here (the API's retrains do, in their transaction). */
  queue: JobQueue;
  /** Stops taking jobs; a handler still running after timeoutMs is retried elsewhere once it expires. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface JobsOptions {
  /**
   * True: this process works the queues (AI retrains and the crons). False: it only enqueues (the
   * scaled-out API), declaring the queues it sends to with the same settings as their workers.
   */
  workers: boolean;
  /** Seconds between a worker's polls for retries and deferred jobs (tests shorten it). Default 2. */
  pollingIntervalSeconds?: number;
  /**
   * Commissions (P5): Stripe Connect for the weekly payouts (absent: the run pays nothing and says
   * so) and the mailer receipts go out through (absent: the receipt queue is declared, not worked).
   */
  commissions?: { payouts?: PayoutJobDeps['payouts']; mailer?: ReceiptMailDeps['mailer'] } | undefined;
  /**
   * Installments (P4, docs/installments.md): the payment adapters scheduled charges go through
   * (absent: a charge throws PROVIDER_UNAVAILABLE and the queue retries it later with the same key).
   */
  installments?: { payments?: InstallmentJobOptions['payments'] } | undefined;
  /**
   * Payments (P3, docs/payments-flows.md): the providers webhooks, captures, renewals and the
   * reconciliation talk to (absent: those jobs find no provider and retry or report `skipped`).
   */
  payments?: WiredPayments | undefined;
  /**
   * Communication (issue 17, builders/communication.ts): the channels notifications go out through
   * (absent: none but the in-app inbox), the chat key ring chat.message previews are opened with, and
   * the upload storage the hourly attachments cleanup deletes from (absent: no cleanup here).
   */
  communication?: { channels?: NotificationChannels; chatKeys?: ChatKeyRing; storage?: ObjectStorage } | undefined;
}

/** The @clutch/jobs queue on the platform's database, with the platform's workers when asked. */
export async function startJobs(
  db: Database,
  config: Pick<PlatformConfig, 'databaseUrl' | 'modelsDir' | 'datasetsDir'>,
  logger: Logger,
  options: JobsOptions,
): Promise<RunningJobs> {
  const log = logger.child({ component: 'jobs' });
  const queue = createJobQueue({
    db,
    url: config.databaseUrl,
    ...(options.pollingIntervalSeconds !== undefined ? { pollingIntervalSeconds: options.pollingIntervalSeconds } : {}),
    onError: (err) => log.warn({ err: err.message }, 'job queue maintenance failed; retrying'),
  });
  await queue.start();
  const stop = (timeoutMs = 5000): Promise<void> => queue.stop({ graceful: true, timeoutMs });
  try {
    if (!options.workers) {
      await queue.declare(AI_RETRAIN_QUEUE, AI_RETRAIN_SETTINGS);
      // Log uploads (docs/imports.md) are enqueued by the API; the ingest processes' workers import them.
      await queue.declare(TELEMETRY_IMPORT_QUEUE, TELEMETRY_IMPORT_SETTINGS);
      // Commissions (P5): the receipt sink enqueues from any process.
      await defineReceiptEmailWorker(queue, undefined, log);
      // Installments (P4): plan creation enqueues its charges from the API's transaction.
      await queue.declare(INSTALLMENT_CHARGE_QUEUE, INSTALLMENT_CHARGE_SETTINGS);
      // Payments (P3): the webhook route and the outbox sink enqueue from any process.
      await queue.declare(PAYMENT_WEBHOOK_QUEUE, PAYMENT_WEBHOOK_SETTINGS);
      await queue.declare(PAYMENT_SETTLE_QUEUE, PAYMENT_SETTLE_SETTINGS);
      // Notifications: the API's sends and schedules queue their dispatch from its transactions.
      await declareNotificationQueues(queue);
      await defineNotificationEventJobs(queue, undefined);
      return { queue, stop };
    }
    await defineAiRetrainWorker(queue, {
      db,
      logger: log,
      run: retrainWith({ modelsDir: config.modelsDir, datasetsDir: config.datasetsDir ?? datasetsDir() }),
    });
    // Uploaded app logs (docs/imports.md): the same import `clutch import` runs, with the deployed model.
    await defineTelemetryImportWorker(queue, {
      db,
      logger: log,
      importHistory: importHistoryWith(db, config.modelsDir, (m) => log.warn(m)),
    });
    await queue.define(CRONS.idempotencyPurge.queue, async () => {
      const purged = await purgeIdempotencyKeys(db);
      if (purged > 0) log.info({ purged }, 'expired idempotency keys purged');
    });
    await queue.schedule(CRONS.idempotencyPurge.queue, CRONS.idempotencyPurge.cron);
    await queue.define(CRONS.outboxPrune.queue, async () => {
      const pruned = await pruneDeliveredEvents(db, CRONS.outboxPrune.keepSeconds);
      if (pruned > 0) log.info({ pruned }, 'delivered outbox events pruned');
    });
    await queue.schedule(CRONS.outboxPrune.queue, CRONS.outboxPrune.cron);
    await queue.define(CRONS.identityPrune.queue, async () => {
      const pruned = await pruneIdentityRecords(db, CRONS.identityPrune.keepSeconds);
      if (pruned.sessions + pruned.accountTokens > 0) log.info(pruned, 'ended sessions and account tokens pruned');
    });
    await queue.schedule(CRONS.identityPrune.queue, CRONS.identityPrune.cron);
    // Bookings (docs/bookings.md): no-shows after the shop's grace period, and the hold sweeper.
    await queue.define(BOOKING_CRONS.noShow.queue, async () => {
      const marked = await markNoShows(db);
      if (marked > 0) log.info({ marked }, 'bookings marked as no-shows');
    });
    await queue.schedule(BOOKING_CRONS.noShow.queue, BOOKING_CRONS.noShow.cron);
    await queue.define(BOOKING_CRONS.expireHolds.queue, async () => {
      const ended = await expireHolds(db);
      if (ended > 0) log.info({ ended }, 'expired booking holds ended');
    });
    await queue.schedule(BOOKING_CRONS.expireHolds.queue, BOOKING_CRONS.expireHolds.cron);
    // --- Commissions (P5, docs/commissions.md): weekly payouts (hourly cron, each shop once per
    // local week) and receipts by mail (queued by receiptEmailSink on payment.updated `captured`).
    await definePayoutJobs(queue, { db, payouts: options.commissions?.payouts, logger: log });
    const mailer = options.commissions?.mailer;
    await defineReceiptEmailWorker(queue, mailer ? { db, mailer } : undefined, log);
    // --- end commissions
    // --- Installments (P4, docs/installments.md): one job per installment attempt, due at its time;
    // a decline schedules the next dunning retry (or defaults the plan) in the same transaction.
    const chargeInstallment = installmentChargeJob(db, {
      payments: options.installments?.payments,
      jobs: queue,
      logger: log,
    });
    await queue.define<ChargeJobData>(
      INSTALLMENT_CHARGE_QUEUE,
      async (job) => void (await chargeInstallment(job.data)),
      INSTALLMENT_CHARGE_SETTINGS,
    );
    // --- end installments
    // --- Payments (P3, docs/payments-flows.md): webhooks processed once (retrieve, then the state
    // machine), holds settled at the repair order's end, payments stuck in pending verified every
    // minute, holds about to lapse renewed or settled daily, and the daily reconciliation.
    const payments = paymentJobDeps(db, { payments: options.payments, jobs: queue, logger: log });
    await queue.define<WebhookJobData>(
      PAYMENT_WEBHOOK_QUEUE,
      async (job) => void (await runWebhookJob(payments, job.data)),
      PAYMENT_WEBHOOK_SETTINGS,
    );
    await queue.define<SettleJobData>(
      PAYMENT_SETTLE_QUEUE,
      async (job) => void (await runSettleJob(payments, job.data)),
      PAYMENT_SETTLE_SETTINGS,
    );
    await queue.define(PAYMENT_CRONS.verifyPending.queue, async () => {
      const moved = await verifyStuckPayments(payments);
      if (moved > 0) log.info({ moved }, 'payments stuck in pending verified');
    });
    await queue.schedule(PAYMENT_CRONS.verifyPending.queue, PAYMENT_CRONS.verifyPending.cron);
    await queue.define(PAYMENT_CRONS.renewHolds.queue, async () => {
      const result = await renewHolds(payments);
      if (result.renewed + result.released + result.captured + result.left > 0)
        log.info(result, 'expiring holds settled');
    });
    await queue.schedule(PAYMENT_CRONS.renewHolds.queue, PAYMENT_CRONS.renewHolds.cron);
    await queue.define(PAYMENT_CRONS.reconcile.queue, async () => {
      for (const report of await reconcileYesterday(payments))
        log[report.status === 'mismatched' ? 'warn' : 'info'](
          { provider: report.provider, matched: report.matched, mismatches: report.mismatches.length },
          'payments reconciled',
        );
    });
    await queue.schedule(PAYMENT_CRONS.reconcile.queue, PAYMENT_CRONS.reconcile.cron);
    // --- end payments
    // --- Ledger (P1, docs/ledger.md): holds (pending transfers) past their timeout are expired, the
    // money returns to the payer. Idempotent: an expiry's id derives from its hold's.
    await queue.define(LEDGER_CRONS.expireHolds.queue, async () => {
      const expired = await expireLedgerHolds(db);
      if (expired > 0) log.info({ expired }, 'ledger holds expired');
    });
    await queue.schedule(LEDGER_CRONS.expireHolds.queue, LEDGER_CRONS.expireHolds.cron);
    // --- end ledger
    // --- Communication (issue 17, docs/notifications.md): domain events become notifications (the
    // outbox's notifications sink queues one job per event), each notification is dispatched to its
    // channels and sent; uploads no message claimed within a day are removed hourly.
    const communication = options.communication;
    // Dispatch first: an event's job enqueues onto it.
    await defineNotificationJobs(queue, { db, channels: communication?.channels ?? {}, logger: log });
    await defineNotificationEventJobs(queue, { db, jobs: queue, logger: log, chatKeys: communication?.chatKeys });
    const storage = communication?.storage;
    if (storage) {
      await queue.define(CHAT_ATTACHMENT_CRONS.cleanup.queue, async () => {
        const removed = await cleanupChatAttachments(db, storage);
        if (removed > 0) log.info({ removed }, 'unclaimed chat attachments removed');
      });
      await queue.schedule(CHAT_ATTACHMENT_CRONS.cleanup.queue, CHAT_ATTACHMENT_CRONS.cleanup.cron);
    }
    // --- end communication
    return { queue, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
