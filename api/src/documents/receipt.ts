import type { Translator } from '@clutch/i18n';
import { documentFormat, shortRef } from './format.js';
import { PdfWriter, type PdfOptions } from './pdf.js';

export interface ReceiptInput {
  payment: {
    id: string;
    purpose: 'booking' | 'repair' | 'wallet_topup' | 'installment' | 'late_fee';
    provider: 'stripe' | 'paypal' | 'cash' | 'wallet';
    capturedMinor: number;
    refundedMinor: number;
    currency: string;
    /** When the money was taken (the capture); the payment's last change if not known. */
    paidAt: string;
  };
  /** The payee: a shop, or the platform for a wallet top-up. */
  payee: { name: string };
  customer: { name: string | null; timeZone: string };
}

/** A payment's receipt: who was paid, for what, how, how much and what was refunded (customer's time zone). */
export function renderReceipt(input: ReceiptInput, i18n: Translator, options: PdfOptions = {}): Promise<Buffer> {
  const f = documentFormat(i18n);
  const { payment } = input;
  const money = (minor: number) => f.money(minor, payment.currency);
  return PdfWriter.render(
    i18n.t('documents.receipt.title'),
    (w) => {
      w.heading(i18n.t('documents.receipt.title'))
        .line(i18n.t('documents.receipt.number', { number: shortRef(payment.id) }))
        .line(i18n.t('documents.common.issued', { date: f.dateTime(payment.paidAt, input.customer.timeZone) }))
        .line(i18n.t('documents.common.from', { name: input.payee.name }));
      if (input.customer.name) w.line(i18n.t('documents.common.billedTo', { name: input.customer.name }));
      w.line(i18n.t('documents.receipt.for', { purpose: i18n.t(`documents.purpose.${payment.purpose}`) }))
        .line(i18n.t('documents.receipt.method', { method: i18n.t(`documents.method.${payment.provider}`) }))
        .line(i18n.t('documents.common.reference', { reference: payment.id }))
        .space()
        .amount(i18n.t('documents.receipt.amountPaid'), money(payment.capturedMinor), 13);
      if (payment.refundedMinor > 0)
        w.amount(i18n.t('documents.receipt.refunded'), money(-payment.refundedMinor)).amount(
          i18n.t('documents.receipt.netPaid'),
          money(payment.capturedMinor - payment.refundedMinor),
          13,
        );
      w.space(2).line(i18n.t('documents.receipt.thanks'));
    },
    options,
  );
}
