import type { Scope } from '../auth/scope.js';
import type { BalanceSource, ProviderBalanceTransaction } from './providers/provider.js';

/**
 * The daily reconciliation (issue 16, item 6; docs/payments-flows.md, "Reconciliation"): the
 * provider's balance transactions of a period against our books. A charge (`pi_...`) is matched to
 * the payment with that provider reference and its captured amount; a refund (`re_...`) to the
 * refund with that reference and its amount. Our captures and refunds in the period that the
 * provider does not list are reported too. Our payments and the ledger are written in one
 * transaction (apply.ts), so matching the payment rows matches the ledger's capture and refund
 * transfers. Transfers and payouts are the payouts domain's and are counted, not matched.
 *
 * One `payment_reconciliations` row per run, with every mismatch.
 */
export type MismatchKind = 'missing_ours' | 'missing_provider' | 'amount_differs';

export interface Mismatch {
  kind: MismatchKind;
  ref: string;
  ourMinor: number | null;
  providerMinor: number | null;
  currency: string;
}

export interface ReconciliationView {
  id: string;
  provider: string;
  from: string;
  to: string;
  status: 'balanced' | 'mismatched' | 'skipped';
  providerTransactions: number;
  matched: number;
  mismatches: Mismatch[];
  createdAt: string;
}

interface OurMovement {
  ref: string;
  amount: number;
  currency: string;
}

/** The UTC day before `now`: [00:00, 24:00). */
export function previousDay(now: Date): { from: Date; to: Date } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return { from: new Date(to.getTime() - 86_400_000), to };
}

export async function reconcile(
  scope: Scope,
  provider: 'stripe' | 'paypal',
  balance: BalanceSource | undefined,
  range: { from: Date; to: Date },
): Promise<ReconciliationView> {
  const mismatches: Mismatch[] = [];
  let seen = 0;
  let matched = 0;
  if (!balance) return store(scope, provider, range, 'skipped', 0, 0, []);
  const theirs: ProviderBalanceTransaction[] = [];
  for await (const t of balance.balanceTransactions(range)) theirs.push(t);
  seen = theirs.length;
  const ours = await scope.run(async (q) => {
    // Captures whose capture we recorded in the period (the payment's history says when).
    const charges = await q.query<OurMovement>(
      `SELECT p.provider_ref AS ref, p.captured_minor::float8 AS amount, p.currency
         FROM payments p
        WHERE p.provider = $1 AND p.provider_ref IS NOT NULL AND p.captured_minor > 0
          AND EXISTS (SELECT 1 FROM payment_events e WHERE e.payment_id = p.id AND e.to_status = 'captured'
                        AND e.from_status <> 'captured' AND e.at >= $2 AND e.at < $3)`,
      [provider, range.from, range.to],
    );
    const refunds = await q.query<OurMovement>(
      `SELECT r.provider_ref AS ref, r.amount_minor::float8 AS amount, r.currency
         FROM payment_refunds r JOIN payments p ON p.id = r.payment_id
        WHERE p.provider = $1 AND r.status = 'succeeded' AND r.provider_ref IS NOT NULL
          AND r.updated_at >= $2 AND r.updated_at < $3`,
      [provider, range.from, range.to],
    );
    // Any payment or refund of ours a provider transaction names, whenever we recorded it.
    const refs = theirs.map((t) => t.sourceRef);
    const anyCharge = await q.query<OurMovement>(
      `SELECT provider_ref AS ref, captured_minor::float8 AS amount, currency FROM payments
        WHERE provider = $1 AND provider_ref = ANY ($2::text[])`,
      [provider, refs],
    );
    const anyRefund = await q.query<OurMovement>(
      `SELECT provider_ref AS ref, amount_minor::float8 AS amount, currency FROM payment_refunds
        WHERE provider_ref = ANY ($1::text[])`,
      [refs],
    );
    return { charges: charges.rows, refunds: refunds.rows, anyCharge: anyCharge.rows, anyRefund: anyRefund.rows };
  });
  const chargeByRef = new Map(ours.anyCharge.map((c) => [c.ref, c]));
  const refundByRef = new Map(ours.anyRefund.map((r) => [r.ref, r]));
  const listed = new Set<string>();
  for (const t of theirs) {
    if (t.type !== 'charge' && t.type !== 'refund') continue;
    listed.add(t.sourceRef);
    const our = t.type === 'charge' ? chargeByRef.get(t.sourceRef) : refundByRef.get(t.sourceRef);
    const providerMinor = Math.abs(t.amountMinor);
    if (!our)
      mismatches.push({
        kind: 'missing_ours',
        ref: t.sourceRef,
        ourMinor: null,
        providerMinor,
        currency: t.currency.toUpperCase(),
      });
    else if (our.amount !== providerMinor || our.currency !== t.currency.toUpperCase())
      mismatches.push({
        kind: 'amount_differs',
        ref: t.sourceRef,
        ourMinor: our.amount,
        providerMinor,
        currency: our.currency,
      });
    else matched++;
  }
  for (const our of [...ours.charges, ...ours.refunds])
    if (!listed.has(our.ref))
      mismatches.push({
        kind: 'missing_provider',
        ref: our.ref,
        ourMinor: our.amount,
        providerMinor: null,
        currency: our.currency,
      });
  return store(scope, provider, range, mismatches.length > 0 ? 'mismatched' : 'balanced', seen, matched, mismatches);
}

async function store(
  scope: Scope,
  provider: string,
  range: { from: Date; to: Date },
  status: ReconciliationView['status'],
  seen: number,
  matched: number,
  mismatches: Mismatch[],
): Promise<ReconciliationView> {
  return scope.run(async (q) => {
    const { rows } = await q.query<ReconRow>(
      `INSERT INTO payment_reconciliations (provider, period_from, period_to, provider_transactions, matched, mismatches, status)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING ${RECON_COLUMNS}`,
      [provider, range.from, range.to, seen, matched, JSON.stringify(mismatches), status],
    );
    return reconView(rows[0]!);
  });
}

interface ReconRow {
  id: string;
  provider: string;
  from: Date;
  to: Date;
  status: ReconciliationView['status'];
  providerTransactions: number;
  matched: number;
  mismatches: Mismatch[];
  createdAt: Date;
}

const RECON_COLUMNS = `id, provider, period_from AS "from", period_to AS "to", status,
  provider_transactions AS "providerTransactions", matched, mismatches, created_at AS "createdAt"`;

const reconView = (r: ReconRow): ReconciliationView => ({
  ...r,
  from: new Date(r.from).toISOString(),
  to: new Date(r.to).toISOString(),
  createdAt: new Date(r.createdAt).toISOString(),
});

export interface DisputeView {
  /** The dispute's id at the provider (`dp_...`). */
  id: string;
  provider: string;
  paymentId: string | null;
  providerRef: string | null;
  amountMinor: number | null;
  currency: string | null;
  /** `opened` or `closed`: the latest event about it. */
  status: 'opened' | 'closed';
  occurredAt: string;
}

export class ReconciliationsService {
  /** Disputes from the providers' webhooks, latest state first (`scope`: an audited system scope). */
  async disputes(scope: Scope, limit: number): Promise<DisputeView[]> {
    return scope.run(async (q) => {
      const { rows } = await q.query<{
        id: string;
        provider: string;
        paymentId: string | null;
        providerRef: string | null;
        amountMinor: number | null;
        currency: string | null;
        type: string;
        occurredAt: Date;
      }>(
        `SELECT DISTINCT ON (e.provider, coalesce(e.object_ref, e.event_id))
                coalesce(e.object_ref, e.event_id) AS id, e.provider, p.id AS "paymentId", e.provider_ref AS "providerRef",
                e.amount_minor::float8 AS "amountMinor", e.currency, e.type, coalesce(e.occurred_at, e.received_at) AS "occurredAt"
           FROM payment_webhook_events e
           LEFT JOIN payments p ON p.provider = e.provider AND p.provider_ref = e.provider_ref
          WHERE e.type LIKE 'dispute.%'
          ORDER BY e.provider, coalesce(e.object_ref, e.event_id), coalesce(e.occurred_at, e.received_at) DESC, e.received_at DESC`,
      );
      return rows
        .map((r) => ({
          id: r.id,
          provider: r.provider,
          paymentId: r.paymentId,
          providerRef: r.providerRef,
          amountMinor: r.amountMinor,
          currency: r.currency,
          status: r.type === 'dispute.closed' ? ('closed' as const) : ('opened' as const),
          occurredAt: new Date(r.occurredAt).toISOString(),
        }))
        .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt))
        .slice(0, limit);
    });
  }

  /** `scope`: an audited system scope (platform staff). */
  async list(scope: Scope, limit: number): Promise<ReconciliationView[]> {
    return scope.run(async (q) => {
      const { rows } = await q.query<ReconRow>(
        `SELECT ${RECON_COLUMNS} FROM payment_reconciliations ORDER BY created_at DESC, id LIMIT $1`,
        [limit],
      );
      return rows.map(reconView);
    });
  }
}
