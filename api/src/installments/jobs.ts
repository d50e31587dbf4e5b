import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { recordAudit } from '../audit/repository.js';
import { Scope } from '../auth/scope.js';
import { paymentDeps, type WiredPayments } from '../payments/deps.js';
import { ACTOR, chargeInstallment, type ChargeJobData, type ChargeOutcome } from './collect.js';

export { INSTALLMENT_CHARGE_QUEUE, INSTALLMENT_CHARGE_SETTINGS, type ChargeJobData } from './collect.js';

export interface InstallmentJobOptions {
  /** The payment adapters (the platform's, as the API gets them). */
  payments?: WiredPayments | undefined;
  /** The queue retries are enqueued on (the same queue this worker takes jobs from). */
  jobs: JobEnqueuer;
  logger?: Logger | undefined;
  /** The clock; tests drive the schedule with it. */
  now?: () => Date;
}

/**
 * The handler of `installments.charge` jobs (platform/src/builders/jobs.ts): one attempt of one
 * installment, in audited system scopes (actor `system:installments`). A decline is an outcome (the
 * next retry, late fee or default is recorded and the job succeeds); an unreachable provider or a
 * payment still pending throws, and the queue runs the same attempt again later with the same key.
 */
export function installmentChargeJob(
  db: Database,
  options: InstallmentJobOptions,
): (data: ChargeJobData) => Promise<ChargeOutcome> {
  const payments = paymentDeps({ payments: options.payments, jobs: options.jobs, logger: options.logger });
  const now = options.now ?? (() => new Date());
  return async (data) => {
    const scope = Scope.system(
      db,
      { actor: ACTOR, action: 'installment.charge', target: data.installmentId, detail: { attempt: data.attempt } },
      recordAudit,
    );
    const outcome = await chargeInstallment(
      { caller: { scope, actor: ACTOR }, payments, jobs: options.jobs, now },
      data,
    );
    options.logger?.info({ ...data, ...outcome }, 'installment charge attempt');
    return outcome;
  };
}
