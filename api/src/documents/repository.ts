import type { Queryable } from '@clutch/db';
import type { InvoiceLine, InvoicePayment } from './invoice.js';

/** What documents read: payments, repair orders, their approved estimate lines, the parties' names. */

export interface PaymentDocRow {
  id: string;
  tenant_id: string;
  partner_id: string | null;
  repair_order_id: string | null;
  booking_id: string | null;
  customer_tenant_id: string;
  customer_user_id: string | null;
  purpose: 'booking' | 'repair' | 'wallet_topup' | 'installment' | 'late_fee';
  provider: 'stripe' | 'paypal' | 'cash' | 'wallet';
  status: string;
  amount_minor: string;
  captured_minor: string;
  refunded_minor: string;
  currency: string;
  paid_at: Date | string;
  shop_name: string | null;
  shop_time_zone: string | null;
}

/** The payment as this transaction may see it, with its capture time (first `captured` event). */
export async function readPayment(q: Queryable, id: string): Promise<PaymentDocRow | undefined> {
  const { rows } = await q.query<PaymentDocRow>(
    `SELECT p.id::text, p.tenant_id, p.partner_id::text, p.repair_order_id::text, p.booking_id::text, p.customer_tenant_id,
            p.customer_user_id::text, p.purpose, p.provider, p.status, p.amount_minor::text, p.captured_minor::text,
            p.refunded_minor::text, p.currency,
            coalesce((SELECT min(e.at) FROM payment_events e WHERE e.payment_id = p.id AND e.to_status = 'captured'), p.updated_at) AS paid_at,
            s.name AS shop_name, s.time_zone AS shop_time_zone
       FROM payments p LEFT JOIN partners s ON s.id = p.partner_id
      WHERE p.id = $1`,
    [id],
  );
  return rows[0];
}

export interface PersonRow {
  display_name: string;
  email: string;
  locale: string;
  time_zone: string;
}

/** A user, when this transaction may see them (the customer themself, or a system scope). */
export async function readPerson(
  q: Queryable,
  tenantId: string,
  userId: string | null,
): Promise<PersonRow | undefined> {
  if (userId === null) return undefined;
  const { rows } = await q.query<PersonRow>(
    `SELECT display_name, email, locale, time_zone FROM users WHERE tenant_id = $1 AND id = $2`,
    [tenantId, userId],
  );
  return rows[0];
}

export async function orderFacts(
  q: Queryable,
  orderId: string,
): Promise<{ created_at: Date | string; shop_name: string; shop_time_zone: string; currency: string } | undefined> {
  const { rows } = await q.query<{
    created_at: Date | string;
    shop_name: string;
    shop_time_zone: string;
    currency: string;
  }>(
    `SELECT ro.created_at, s.name AS shop_name, s.time_zone AS shop_time_zone, s.currency
       FROM repair_orders ro JOIN partners s ON s.id = ro.partner_id WHERE ro.id = $1`,
    [orderId],
  );
  return rows[0];
}

/** The approved lines of the order's decided estimates, in estimate then line order. */
export async function approvedLines(
  q: Queryable,
  orderId: string,
): Promise<{ currency: string; lines: InvoiceLine[] }[]> {
  const { rows } = await q.query<{
    currency: string;
    kind: InvoiceLine['kind'];
    description: string;
    quantity_milli: number;
    unit_price_minor: string;
    tax_rate_bp: number;
    net_minor: string;
    tax_minor: string;
    total_minor: string;
  }>(
    `SELECT e.currency, l.kind, l.description, l.quantity_milli, l.unit_price_minor::text, l.tax_rate_bp,
            l.net_minor::text, l.tax_minor::text, l.total_minor::text
       FROM estimates e JOIN estimate_lines l ON l.estimate_id = e.id
      WHERE e.repair_order_id = $1 AND e.status = 'decided' AND l.decision = 'approved'
      ORDER BY e.created_at, e.id, l.position`,
    [orderId],
  );
  const byCurrency = new Map<string, InvoiceLine[]>();
  for (const r of rows)
    byCurrency.set(r.currency, [
      ...(byCurrency.get(r.currency) ?? []),
      {
        kind: r.kind,
        description: r.description,
        quantityMilli: r.quantity_milli,
        unitPriceMinor: Number(r.unit_price_minor),
        taxRateBp: r.tax_rate_bp,
        netMinor: Number(r.net_minor),
        taxMinor: Number(r.tax_minor),
        totalMinor: Number(r.total_minor),
      },
    ]);
  return [...byCurrency].map(([currency, lines]) => ({ currency, lines }));
}

/** Captured payments of the order or of the booking it came from. */
export async function orderPayments(q: Queryable, orderId: string): Promise<(InvoicePayment & { currency: string })[]> {
  const { rows } = await q.query<{
    id: string;
    provider: InvoicePayment['provider'];
    captured_minor: string;
    refunded_minor: string;
    currency: string;
    at: Date | string;
  }>(
    `SELECT p.id::text, p.provider, p.captured_minor::text, p.refunded_minor::text, p.currency,
            coalesce((SELECT min(e.at) FROM payment_events e WHERE e.payment_id = p.id AND e.to_status = 'captured'), p.updated_at) AS at
       FROM payments p
      WHERE p.captured_minor > 0
        AND (p.repair_order_id = $1
             OR p.booking_id = (SELECT ro.booking_id FROM repair_orders ro WHERE ro.id = $1))
      ORDER BY at, p.id`,
    [orderId],
  );
  return rows.map((r) => ({
    id: r.id,
    provider: r.provider,
    capturedMinor: Number(r.captured_minor),
    refundedMinor: Number(r.refunded_minor),
    currency: r.currency,
    at: new Date(r.at).toISOString(),
  }));
}
