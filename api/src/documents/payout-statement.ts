import type { Translator } from '@clutch/i18n';
import { documentFormat, shortRef } from './format.js';
import { PdfWriter, type PdfOptions } from './pdf.js';

export interface PayoutStatementInput {
  payout: {
    id: string;
    amountMinor: number;
    currency: string;
    status: 'pending' | 'paid' | 'failed';
    transferRef: string | null;
    periodStart: string;
    periodEnd: string;
    failure: string | null;
    createdAt: string;
    completedAt: string | null;
  };
  shop: { name: string; timeZone: string };
  commissions: readonly {
    paymentId: string;
    amountMinor: number;
    rateBps: number;
    commissionMinor: number;
    vatMinor: number;
    netMinor: number;
    capturedAt: string;
  }[];
  reversals: readonly {
    refundRef: string;
    paymentId: string;
    refundedMinor: number;
    commissionMinor: number;
    vatMinor: number;
    reversedAt: string;
  }[];
}

/** A partner's payout statement: the payout, and the commissions and refunds of its period (shop's time zone). */
export function renderPayoutStatement(
  input: PayoutStatementInput,
  i18n: Translator,
  options: PdfOptions = {},
): Promise<Buffer> {
  const f = documentFormat(i18n);
  const { payout, shop } = input;
  const zone = shop.timeZone;
  const money = (minor: number) => f.money(minor, payout.currency);
  const sum = <T>(rows: readonly T[], pick: (r: T) => number) => rows.reduce((s, r) => s + pick(r), 0);
  return PdfWriter.render(
    i18n.t('documents.payout.title'),
    (w) => {
      w.heading(i18n.t('documents.payout.title'))
        .line(i18n.t('documents.payout.number', { number: shortRef(payout.id) }))
        .line(i18n.t('documents.payout.shop', { name: shop.name }))
        .line(
          i18n.t('documents.payout.period', {
            from: f.dateTime(payout.periodStart, zone),
            to: f.dateTime(payout.periodEnd, zone),
          }),
        )
        .line(
          payout.status === 'paid'
            ? i18n.t('documents.payout.status.paid', {
                date: f.dateTime(payout.completedAt ?? payout.createdAt, zone),
                reference: payout.transferRef ?? '',
              })
            : payout.status === 'failed'
              ? i18n.t('documents.payout.status.failed', { reason: payout.failure ?? '' })
              : i18n.t('documents.payout.status.pending'),
        )
        .space()
        .amount(i18n.t('documents.payout.amount'), money(payout.amountMinor), 13)
        .subheading(i18n.t('documents.payout.commissions'));
      if (input.commissions.length === 0) w.line(i18n.t('documents.payout.none'));
      else
        w.table(
          [
            { width: 0.2 },
            { width: 0.12 },
            { width: 0.16, align: 'right' },
            { width: 0.1, align: 'right' },
            { width: 0.14, align: 'right' },
            { width: 0.12, align: 'right' },
            { width: 0.16, align: 'right' },
          ],
          [
            i18n.t('documents.payout.column.date'),
            i18n.t('documents.payout.column.payment'),
            i18n.t('documents.payout.column.captured'),
            i18n.t('documents.payout.column.rate'),
            i18n.t('documents.payout.column.commission'),
            i18n.t('documents.payout.column.vat'),
            i18n.t('documents.payout.column.net'),
          ],
          input.commissions.map((c) => [
            f.date(c.capturedAt, zone),
            shortRef(c.paymentId),
            money(c.amountMinor),
            f.percent(c.rateBps),
            money(c.commissionMinor),
            money(c.vatMinor),
            money(c.netMinor),
          ]),
        );
      if (input.reversals.length > 0) {
        w.subheading(i18n.t('documents.payout.refunds')).table(
          [
            { width: 0.2 },
            { width: 0.2 },
            { width: 0.2, align: 'right' },
            { width: 0.2, align: 'right' },
            { width: 0.2, align: 'right' },
          ],
          [
            i18n.t('documents.payout.column.date'),
            i18n.t('documents.payout.column.payment'),
            i18n.t('documents.payout.column.refunded'),
            i18n.t('documents.payout.column.commission'),
            i18n.t('documents.payout.column.vat'),
          ],
          input.reversals.map((r) => [
            f.date(r.reversedAt, zone),
            shortRef(r.paymentId),
            money(r.refundedMinor),
            money(r.commissionMinor),
            money(r.vatMinor),
          ]),
        );
      }
      const commission = sum(input.commissions, (c) => c.commissionMinor);
      const vat = sum(input.commissions, (c) => c.vatMinor);
      w.space()
        .amount(i18n.t('documents.payout.totals.captured'), money(sum(input.commissions, (c) => c.amountMinor)))
        .amount(i18n.t('documents.payout.totals.commission'), money(commission))
        .amount(i18n.t('documents.payout.totals.vat'), money(vat))
        .amount(
          i18n.t('documents.payout.totals.returned'),
          money(sum(input.reversals, (r) => r.commissionMinor + r.vatMinor)),
        )
        .amount(i18n.t('documents.payout.totals.net'), money(sum(input.commissions, (c) => c.netMinor)))
        .space()
        .line(i18n.t('documents.payout.note'));
    },
    options,
  );
}
