import type { Translator } from '@clutch/i18n';
import { ApiProblem } from './api.js';
import type { RepairOrder } from './marketplace-api.js';
import { el, money, textEl } from './marketplace-ui.js';
import { invoiceUrl, receiptUrl, searchPayments, type Payment } from './money-api.js';

/**
 * The payment part of a repair order's page (docs/payments.md, "Receipts"): each payment of the order
 * or its booking (the hold at booking, any remainder charged at delivery) with what was held, taken
 * and refunded, the receipt (PDF) of every payment that took money, and the invoice (PDF) once the car
 * is delivered. The page re-reads it on every `payment_notification` for the order or its booking.
 */

const TOOK_MONEY = new Set(['captured', 'partially_refunded', 'refunded']);
const INVOICED = new Set(['delivered', 'closed']);

function paymentText(i18n: Translator, p: Payment): string {
  const provider = i18n.text(`payments.provider.${p.provider}`);
  const by = provider === `payments.provider.${p.provider}` ? p.provider : provider;
  const amount = (minor: number): string => money(i18n, minor, p.currency);
  switch (p.status) {
    case 'authorized':
      return i18n.t('payments.order.held', { amount: amount(p.amountMinor), provider: by });
    case 'captured':
      return i18n.t('payments.order.captured', { amount: amount(p.capturedMinor), provider: by });
    case 'partially_refunded':
    case 'refunded':
      return i18n.t('payments.order.refunded', {
        amount: amount(p.capturedMinor),
        refunded: amount(p.refundedMinor),
        provider: by,
      });
    default: {
      const key = `payments.status.${p.status}`;
      const status = i18n.text(key);
      return i18n.t('payments.order.other', {
        amount: amount(p.amountMinor),
        provider: by,
        status: status === key ? p.status : status,
      });
    }
  }
}

async function paymentsOf(order: RepairOrder): Promise<Payment[]> {
  const [byOrder, byBooking] = await Promise.all([
    searchPayments({ repairOrderId: order.id }),
    order.bookingId ? searchPayments({ bookingId: order.bookingId }) : Promise.resolve({ items: [], nextCursor: null }),
  ]);
  const seen = new Set<string>();
  return [...byBooking.items, ...byOrder.items].filter((p) => !seen.has(p.id) && seen.add(p.id) !== undefined);
}

export async function showOrderPayments(i18n: Translator, order: RepairOrder): Promise<void> {
  const panel = el('payments-panel');
  let payments: Payment[];
  try {
    payments = await paymentsOf(order);
  } catch (err) {
    // A platform without payments (or a caller who may not read them): the order page stays as it was.
    if (err instanceof ApiProblem) {
      panel.hidden = true;
      return;
    }
    throw err;
  }
  el('order-payments').replaceChildren(
    ...payments.map((p) => {
      const li = document.createElement('li');
      li.dataset.testid = 'order-payment';
      li.dataset.paymentId = p.id;
      li.dataset.status = p.status;
      li.append(textEl('span', paymentText(i18n, p)));
      if (TOOK_MONEY.has(p.status)) {
        const a = document.createElement('a');
        a.href = receiptUrl(p.id);
        a.dataset.testid = 'receipt-link';
        a.textContent = i18n.t('payments.order.receipt');
        li.append(' ', a);
      }
      return li;
    }),
  );
  const invoice = el<HTMLAnchorElement>('invoice-link');
  invoice.href = invoiceUrl(order.id);
  invoice.hidden = !INVOICED.has(order.status);
  panel.hidden = payments.length === 0 && invoice.hidden;
}
