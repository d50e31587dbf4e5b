import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { recordAudit } from '../audit/repository.js';
import { Scope, type SystemUse } from '../auth/scope.js';
import { settleRepairOrderPayments, type SettleJobData, type SettleResult } from './capture-on-delivery.js';
import type { WiredPayments } from './deps.js';
import { renewExpiringHolds, type RenewResult } from './holds.js';
import { previousDay, reconcile, type ReconciliationView } from './reconcile.js';
import { PaymentsRepository } from './repository.js';
import { PaymentsService } from './service.js';
import { processPendingWebhooks, processWebhookEvent, type WebhookDeps, type WebhookJobData } from './webhooks.js';

/**
 * The payments' jobs, for the platform's job queue (platform/src/builders/jobs.ts). Each runs in
 * audited system scopes (actor `system:payments`): jobs have no caller.
 */
export interface PaymentJobOptions {
  payments?: WiredPayments | undefined;
  jobs?: JobEnqueuer | undefined;
  logger?: Logger | undefined;
  now?: () => Date;
}

export function paymentJobDeps(db: Database, options: PaymentJobOptions): WebhookDeps {
  return {
    providers: options.payments,
    browser: options.payments?.browser,
    jobs: options.jobs,
    logger: options.logger,
    ...(options.now ? { now: options.now } : {}),
    systemScope: (use: Omit<SystemUse, 'actor'> & { actor?: string }) =>
      Scope.system(db, { ...use, actor: use.actor ?? 'system:payments' }, recordAudit),
  };
}

export function runWebhookJob(deps: WebhookDeps, data: WebhookJobData): Promise<string> {
  return processWebhookEvent(deps, data.provider, data.eventId);
}

export function runSettleJob(deps: WebhookDeps, data: SettleJobData): Promise<SettleResult> {
  return settleRepairOrderPayments(
    deps.systemScope({ action: 'payment.repair-order-settle', target: data.repairOrderId, detail: { to: data.to } }),
    deps,
    data,
  );
}

/**
 * Repairs payments stuck in `pending` (or waiting for the customer's card step) for over a minute:
 * verify (retrieve, or send again with the same key) — and processes webhooks left unprocessed.
 */
export async function verifyStuckPayments(deps: WebhookDeps, olderThanSeconds = 60): Promise<number> {
  const scope = deps.systemScope({ action: 'payment.verify-stuck' });
  const stuck = await scope.run(async (q) => {
    const { rows } = await q.query<{ id: string }>(
      `SELECT id FROM payments WHERE status IN ('pending', 'requires_action') AND provider <> 'wallet'
          AND updated_at < now() - make_interval(secs => $1)
          AND created_at > now() - interval '2 days'
        ORDER BY updated_at LIMIT 200`,
      [olderThanSeconds],
    );
    return rows.map((r) => r.id);
  });
  const service = new PaymentsService(deps);
  let moved = 0;
  for (const id of stuck) {
    const payment = await scope.run((q) => new PaymentsRepository(q).get(id));
    if (!payment) continue;
    try {
      const after = await service.verifyRow(scope, payment, { actor: 'system:payments', kind: 'verify' });
      if (after.status !== payment.status) moved++;
    } catch (err) {
      deps.logger?.warn({ err, paymentId: id }, 'a stuck payment could not be verified yet');
    }
  }
  await processPendingWebhooks(deps, olderThanSeconds);
  return moved;
}

export function renewHolds(deps: WebhookDeps): Promise<RenewResult> {
  return renewExpiringHolds(deps.systemScope({ action: 'payment.renew-holds' }), deps);
}

/** The daily reconciliation of every provider with a balance source (yesterday, UTC). */
export async function reconcileYesterday(deps: WebhookDeps): Promise<ReconciliationView[]> {
  const range = previousDay(deps.now?.() ?? new Date());
  const reports: ReconciliationView[] = [];
  for (const provider of ['stripe', 'paypal'] as const) {
    if (!deps.providers?.providers.has(provider)) continue;
    const balance = provider === 'stripe' ? deps.providers.balance : undefined;
    reports.push(
      await reconcile(
        deps.systemScope({ action: 'payment.reconcile', detail: { provider } }),
        provider,
        balance,
        range,
      ),
    );
  }
  return reports;
}
