import type { Database } from '@clutch/db';
import type { Mailer } from '@clutch/identity';
import type { JobQueue, OutboxSink } from '@clutch/jobs';
import { problemTranslator } from '../http/problem.js';
import { documentFormat, shortRef } from './format.js';
import type { PdfOptions } from './pdf.js';
import { renderReceipt } from './receipt.js';
import { readPayment, readPerson } from './repository.js';
import { receiptInput } from './service.js';

/**
 * Receipts by mail (docs/commissions.md, "Documents"): the outbox topic `payment.updated` with status
 * `captured` becomes a job on `documents.email-receipt` (the sink below, keyed by payment so a
 * redelivered event waits behind the same job), and the job mails the receipt PDF to the customer
 * in their language and time zone through the platform mailer. A `document_emails` row, written once
 * the mail server accepted the message, makes a second job for the same payment send nothing.
 */

export const RECEIPT_EMAIL_QUEUE = 'documents.email-receipt';
export const RECEIPT_EMAIL_SETTINGS = { retryLimit: 8, retryDelay: 30, retryBackoff: true, expireIn: 120 } as const;

export interface ReceiptEmailJob {
  paymentId: string;
}

/** The outbox sink: a captured payment with a customer to write to enqueues its receipt mail. */
export function receiptEmailSink(queue: Pick<JobQueue, 'enqueue'>): OutboxSink {
  return {
    name: 'receipt-email',
    async deliver(event) {
      if (event.topic !== 'payment.updated') return;
      const p = event.payload as { paymentId?: unknown; status?: unknown; customerUserId?: unknown };
      if (p.status !== 'captured' || typeof p.paymentId !== 'string' || typeof p.customerUserId !== 'string') return;
      await queue.enqueue(RECEIPT_EMAIL_QUEUE, { paymentId: p.paymentId } satisfies ReceiptEmailJob, {
        singletonKey: `receipt:${p.paymentId}`,
      });
    },
  };
}

export interface ReceiptMailDeps {
  /** The platform's own transactions (the job reads the payment and the customer across tenants). */
  db: Pick<Database, 'transaction'>;
  mailer: Mailer;
  pdf?: PdfOptions | undefined;
  platformName?: string | undefined;
}

/**
 * Sends one payment's receipt to its customer; `sent` false when there is nobody to send to (no
 * customer user, not captured) or it was sent already.
 */
export async function sendReceiptEmail(
  deps: ReceiptMailDeps,
  paymentId: string,
): Promise<{ sent: boolean; to?: string; reason?: string }> {
  const facts = await deps.db.transaction(async (q) => {
    const payment = await readPayment(q, paymentId);
    if (!payment) return undefined;
    const person = await readPerson(q, payment.customer_tenant_id, payment.customer_user_id);
    const { rows } = await q.query(
      `SELECT 1 FROM document_emails WHERE kind = 'receipt' AND subject_id = $1 AND recipient = $2`,
      [paymentId, person?.email ?? ''],
    );
    return { payment, person, done: rows.length > 0 };
  });
  if (!facts) return { sent: false, reason: 'no such payment' };
  const { payment, person } = facts;
  if (!person) return { sent: false, reason: 'no customer to write to' };
  if (facts.done) return { sent: false, to: person.email, reason: 'sent already' };
  if (!['captured', 'partially_refunded', 'refunded'].includes(payment.status))
    return { sent: false, reason: `payment is ${payment.status}` };
  const i18n = problemTranslator(person.locale);
  const input = receiptInput(payment, person, deps.platformName ?? 'Clutch');
  const pdf = await renderReceipt(input, i18n, deps.pdf);
  const amount = documentFormat(i18n).money(input.payment.capturedMinor, input.payment.currency);
  await deps.mailer.send({
    to: person.email,
    subject: i18n.t('documents.receipt.emailSubject', { shop: input.payee.name }),
    text: i18n.t('documents.receipt.emailBody', { name: person.display_name, amount, shop: input.payee.name }),
    attachments: [{ filename: `receipt-${shortRef(payment.id)}.pdf`, content: pdf, contentType: 'application/pdf' }],
  });
  await deps.db.transaction((q) =>
    q.query(
      `INSERT INTO document_emails (tenant_id, kind, subject_id, recipient) VALUES ($1, 'receipt', $2, $3)
       ON CONFLICT DO NOTHING`,
      [payment.customer_tenant_id, payment.id, person.email],
    ),
  );
  return { sent: true, to: person.email };
}

/** Declares the queue (an enqueue-only process) or runs its worker too. */
export async function defineReceiptEmailWorker(
  queue: Pick<JobQueue, 'define' | 'declare'>,
  deps: ReceiptMailDeps | undefined,
  log: { info(o: object, m: string): void },
): Promise<void> {
  if (!deps) {
    await queue.declare(RECEIPT_EMAIL_QUEUE, RECEIPT_EMAIL_SETTINGS);
    return;
  }
  await queue.define<ReceiptEmailJob>(
    RECEIPT_EMAIL_QUEUE,
    async (job) => {
      const result = await sendReceiptEmail(deps, job.data.paymentId);
      log.info({ paymentId: job.data.paymentId, ...result }, 'receipt mail');
    },
    RECEIPT_EMAIL_SETTINGS,
  );
}
