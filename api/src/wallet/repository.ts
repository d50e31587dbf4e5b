import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { accountsById, ledger } from '../ledger/ledger.js';
import type { LedgerAccount } from '../ledger/types.js';

/** Who holds a wallet: a car owner (consumer tenant: the person), or an organisation (a fleet). */
export interface WalletHolder {
  tenantId: string;
  ownerUserId: string | null;
}

interface AccountRow {
  id: string;
}

/**
 * The wallet domain's SQL. Wallets are the ledger's `customer_wallet` accounts; reads of them and of
 * wallet transfers run as the caller (row-level security: the holder's tenant, a car owner only
 * their own), moves through the ledger's functions.
 */
export class WalletRepository {
  constructor(private readonly q: Queryable) {}

  /** The holder a signed-in user's wallets belong to. */
  async holderOf(user: { tenantId: string; userId: string }): Promise<WalletHolder> {
    const { rows } = await this.q.query<{ kind: string }>(`SELECT kind FROM tenants WHERE id = $1`, [user.tenantId]);
    // Platform staff act on the platform's accounts through administration, not through a wallet.
    if (rows[0]?.kind === 'platform') throw apiError('FORBIDDEN', 'Platform staff hold no wallet');
    return { tenantId: user.tenantId, ownerUserId: rows[0]?.kind === 'consumer' ? user.userId : null };
  }

  open(holder: WalletHolder, currency: string): Promise<LedgerAccount> {
    return ledger.ensureAccount(this.q, {
      tenantId: holder.tenantId,
      ownerUserId: holder.ownerUserId,
      partnerId: null,
      qualifier: null,
      code: 'customer_wallet',
      currency,
    });
  }

  /** The holder's wallets (one per currency), as the caller may read them. */
  async wallets(holder: WalletHolder, currency?: string): Promise<LedgerAccount[]> {
    const { rows } = await this.q.query<AccountRow>(
      `SELECT id FROM ledger_accounts
        WHERE code = 'customer_wallet' AND tenant_id = $1 AND owner_user_id IS NOT DISTINCT FROM $2::uuid
          AND ($3::text IS NULL OR currency = $3)
        ORDER BY currency`,
      [holder.tenantId, holder.ownerUserId, currency ?? null],
    );
    const accounts = await accountsById(
      this.q,
      rows.map((r) => r.id),
    );
    return accounts.sort((a, b) => a.currency.localeCompare(b.currency));
  }

  /** A recipient by id or e-mail, with the kind of their tenant (read as the platform). */
  async recipient(by: { userId?: string | undefined; email?: string | undefined }) {
    const { rows } = await this.q.query<{ id: string; tenant_id: string; kind: string }>(
      `SELECT u.id, u.tenant_id, t.kind FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE u.status = 'active' AND (u.id = $1::uuid OR u.email = lower($2))`,
      [by.userId ?? null, by.email ?? null],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      userId: row.id,
      holder: { tenantId: row.tenant_id, ownerUserId: row.kind === 'consumer' ? row.id : null },
    };
  }

  /** Serialises a wallet's outgoing transfers (the daily limits are read, then written). */
  async lockWallet(accountId: string): Promise<void> {
    await this.q.query(`SELECT pg_advisory_xact_lock(hashtextextended('wallet:' || $1::text, 0))`, [accountId]);
  }

  /** What a wallet sent to other wallets since `since`: how many transfers and their sum. */
  async sentSince(accountId: string, since: Date): Promise<{ count: number; sumMinor: number }> {
    const { rows } = await this.q.query<{ n: string | number; total: string | number }>(
      `SELECT count(*) AS n, coalesce(sum(amount_minor), 0) AS total FROM wallet_transfers
        WHERE from_account_id = $1 AND created_at > $2`,
      [accountId, since],
    );
    return { count: Number(rows[0]!.n), sumMinor: Number(rows[0]!.total) };
  }

  async recordTransfer(row: {
    id: string;
    tenantId: string;
    senderUserId: string | null;
    fromAccountId: string;
    toAccountId: string;
    recipientTenantId: string;
    recipientUserId: string | null;
    amountMinor: number;
    currency: string;
    note: string | null;
    riskAssessmentId: string | null;
    at: Date;
  }): Promise<void> {
    await this.q.query(
      `INSERT INTO wallet_transfers (id, tenant_id, sender_user_id, from_account_id, to_account_id, recipient_tenant_id,
         recipient_user_id, amount_minor, currency, note, risk_assessment_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        row.id,
        row.tenantId,
        row.senderUserId,
        row.fromAccountId,
        row.toAccountId,
        row.recipientTenantId,
        row.recipientUserId,
        row.amountMinor,
        row.currency,
        row.note,
        row.riskAssessmentId,
        row.at,
      ],
    );
  }

  /** The shop a hold pays: a booking's (as the customer reads it) or a listed shop's. */
  async shopOfBooking(bookingId: string): Promise<{ partnerId: string; tenantId: string } | null> {
    const { rows } = await this.q.query<{ partner_id: string; tenant_id: string }>(
      `SELECT partner_id, tenant_id FROM bookings WHERE id = $1`,
      [bookingId],
    );
    return rows[0] ? { partnerId: rows[0].partner_id, tenantId: rows[0].tenant_id } : null;
  }

  async shop(partnerId: string): Promise<{ partnerId: string; tenantId: string } | null> {
    const { rows } = await this.q.query<{ id: string; tenant_id: string }>(
      `SELECT id, tenant_id FROM partners WHERE id = $1`,
      [partnerId],
    );
    return rows[0] ? { partnerId: rows[0].id, tenantId: rows[0].tenant_id } : null;
  }
}
