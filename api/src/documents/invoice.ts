import type { Translator } from '@clutch/i18n';
import { documentFormat, shortRef } from './format.js';
import { PdfWriter, type PdfOptions } from './pdf.js';

export interface InvoiceLine {
  kind: 'labour' | 'part' | 'fee';
  description: string;
  quantityMilli: number;
  unitPriceMinor: number;
  taxRateBp: number;
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
}

export interface InvoicePayment {
  id: string;
  provider: 'stripe' | 'paypal' | 'cash' | 'wallet';
  capturedMinor: number;
  refundedMinor: number;
  at: string;
}

export interface InvoiceInput {
  order: { id: string; createdAt: string };
  shop: { name: string };
  customer: { name: string | null; timeZone: string };
  currency: string;
  /** The approved lines of the order's decided estimates. */
  lines: readonly InvoiceLine[];
  /** Captured payments of the order (and of its booking). */
  payments: readonly InvoicePayment[];
  issuedAt: string;
}

/** A repair order's invoice: the approved work, VAT, what was paid and what is still due. */
export function renderInvoice(input: InvoiceInput, i18n: Translator, options: PdfOptions = {}): Promise<Buffer> {
  const f = documentFormat(i18n);
  const zone = input.customer.timeZone;
  const money = (minor: number) => f.money(minor, input.currency);
  const net = input.lines.reduce((s, l) => s + l.netMinor, 0);
  const tax = input.lines.reduce((s, l) => s + l.taxMinor, 0);
  const total = input.lines.reduce((s, l) => s + l.totalMinor, 0);
  const paid = input.payments.reduce((s, p) => s + p.capturedMinor - p.refundedMinor, 0);
  return PdfWriter.render(
    i18n.t('documents.invoice.title'),
    (w) => {
      w.heading(i18n.t('documents.invoice.title'))
        .line(i18n.t('documents.invoice.number', { number: shortRef(input.order.id) }))
        .line(i18n.t('documents.invoice.order', { number: input.order.id }))
        .line(i18n.t('documents.common.issued', { date: f.dateTime(input.issuedAt, zone) }))
        .line(i18n.t('documents.common.from', { name: input.shop.name }));
      if (input.customer.name) w.line(i18n.t('documents.common.billedTo', { name: input.customer.name }));
      w.space();
      if (input.lines.length === 0) w.line(i18n.t('documents.invoice.noLines'));
      else
        w.table(
          [
            { width: 0.46 },
            { width: 0.1, align: 'right' },
            { width: 0.16, align: 'right' },
            { width: 0.1, align: 'right' },
            { width: 0.18, align: 'right' },
          ],
          [
            i18n.t('documents.invoice.column.description'),
            i18n.t('documents.invoice.column.quantity'),
            i18n.t('documents.invoice.column.unitPrice'),
            i18n.t('documents.invoice.column.taxRate'),
            i18n.t('documents.invoice.column.total'),
          ],
          input.lines.map((l) => [
            i18n.t(`documents.invoice.kind.${l.kind}`, { description: l.description }),
            i18n.number(l.quantityMilli / 1000, { maximumFractionDigits: 3 }),
            money(l.unitPriceMinor),
            f.percent(l.taxRateBp),
            money(l.totalMinor),
          ]),
        );
      w.space()
        .amount(i18n.t('documents.invoice.net'), money(net))
        .amount(i18n.t('documents.invoice.tax'), money(tax))
        .amount(i18n.t('documents.invoice.total'), money(total), 13);
      if (input.payments.length > 0) {
        w.subheading(i18n.t('documents.invoice.payments'));
        for (const p of input.payments) {
          w.amount(
            i18n.t('documents.invoice.payment', {
              date: f.dateTime(p.at, zone),
              method: i18n.t(`documents.method.${p.provider}`),
            }),
            money(p.capturedMinor),
          );
          if (p.refundedMinor > 0)
            w.amount(i18n.t('documents.invoice.refund', { date: f.dateTime(p.at, zone) }), money(-p.refundedMinor));
        }
        w.amount(i18n.t('documents.invoice.paid'), money(paid));
      }
      w.space().amount(i18n.t('documents.invoice.balanceDue'), money(Math.max(0, total - paid)), 13);
    },
    options,
  );
}
