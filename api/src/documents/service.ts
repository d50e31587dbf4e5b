import type { Translator } from '@clutch/i18n';
import type { Principal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import { paymentResources } from '../payments/service.js';
import { requireReadableOrder } from '../repair-work/order-access.js';
import { renderInvoice } from './invoice.js';
import type { PdfOptions } from './pdf.js';
import { renderReceipt, type ReceiptInput } from './receipt.js';
import {
  approvedLines,
  orderFacts,
  orderPayments,
  readPayment,
  readPerson,
  type PaymentDocRow,
  type PersonRow,
} from './repository.js';

export interface DocumentCaller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
}

const PAID = new Set(['captured', 'partially_refunded', 'refunded']);
const paymentNotFound = (id: string) => apiError('PAYMENT_NOT_FOUND', undefined, { paymentId: id });

/** The receipt's facts from the payment row and (when visible) the customer. */
export function receiptInput(p: PaymentDocRow, person: PersonRow | undefined, platformName: string): ReceiptInput {
  return {
    payment: {
      id: p.id,
      purpose: p.purpose,
      provider: p.provider,
      capturedMinor: Number(p.captured_minor),
      refundedMinor: Number(p.refunded_minor),
      currency: p.currency,
      paidAt: new Date(p.paid_at).toISOString(),
    },
    payee: { name: p.shop_name ?? platformName },
    customer: { name: person?.display_name ?? null, timeZone: person?.time_zone ?? p.shop_time_zone ?? 'UTC' },
  };
}

/** Receipts and invoices as PDF, for whoever may read the payment or the repair order. */
export class DocumentsService {
  constructor(private readonly options: PdfOptions & { platformName?: string } = {}) {}

  private get platformName(): string {
    return this.options.platformName ?? 'Clutch';
  }

  async receipt(caller: DocumentCaller, paymentId: string, i18n: Translator): Promise<Buffer> {
    const scope = caller.scope.administration({ action: 'document.receipt', target: paymentId, tenantId: null });
    const { payment, person } = await scope.run(async (q) => {
      const payment = await readPayment(q, paymentId);
      if (!payment) throw paymentNotFound(paymentId);
      const resources = paymentResources(caller.principal, {
        id: payment.id,
        tenantId: payment.tenant_id,
        partnerId: payment.partner_id,
        customerTenantId: payment.customer_tenant_id,
        customerUserId: payment.customer_user_id,
      });
      let allowed = false;
      for (const r of resources) if ((await caller.policy.decide('payments:read', r)).allow) allowed = true;
      if (!allowed) throw paymentNotFound(paymentId);
      return { payment, person: await readPerson(q, payment.customer_tenant_id, payment.customer_user_id) };
    });
    if (!PAID.has(payment.status))
      throw apiError(
        'PAYMENT_STATE_CONFLICT',
        `Payment ${paymentId} is ${payment.status}: there is no receipt before it is captured`,
      );
    return renderReceipt(receiptInput(payment, person, this.platformName), i18n, this.options);
  }

  async invoice(caller: DocumentCaller, orderId: string, i18n: Translator, now = new Date()): Promise<Buffer> {
    const scope = caller.scope.administration({ action: 'document.invoice', target: orderId, tenantId: null });
    const data = await scope.run(async (q) => {
      const order = await requireReadableOrder(q, caller.policy, orderId);
      const facts = (await orderFacts(q, order.id))!;
      const lines = await approvedLines(q, order.id);
      const payments = await orderPayments(q, order.id);
      const person = await readPerson(q, order.customer_tenant_id, order.customer_user_id);
      return { order, facts, lines, payments, person };
    });
    // One currency per order in practice (the shop's); lines of another would not add up with it.
    const currency = data.lines[0]?.currency ?? data.payments[0]?.currency ?? data.facts.currency;
    return renderInvoice(
      {
        order: { id: data.order.id, createdAt: new Date(data.facts.created_at).toISOString() },
        shop: { name: data.facts.shop_name },
        customer: {
          name: data.person?.display_name ?? null,
          timeZone: data.person?.time_zone ?? data.facts.shop_time_zone,
        },
        currency,
        lines: data.lines.find((l) => l.currency === currency)?.lines ?? [],
        payments: data.payments.filter((p) => p.currency === currency),
        issuedAt: now.toISOString(),
      },
      i18n,
      this.options,
    );
  }
}
