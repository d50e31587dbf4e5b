-- Commissions, VAT on them, and weekly payouts to partners (issue 16, item 5). docs/commissions.md
-- describes the rules; api/src/commissions/ is the code.
--
-- At every capture the payments domain calls recordCommission (api/src/commissions/commission.ts):
-- the shop's tier (by its captured volume over the last 30 days) gives a rate in basis points, its
-- performance bonuses lower it, the region's VAT rate applies to the commission, and the captured
-- amount is split (dinero.js allocate) into commission + VAT + the shop's net, to the minor unit.
-- One `commissions` row per capture; the ledger moves shop_payable -> platform_revenue (commission)
-- and shop_payable -> tax_payable(region) (VAT). A refund returns both pro rata
-- (`commission_reversals`). A weekly job pays each partner's positive shop_payable balance out to
-- its connected account (`payouts`).
--
-- Configuration (tiers, bonuses, VAT rates) is the platform's: written through audited system
-- scopes only; tenant work (a capture made by a shop's user) reads it. Tiers carry a tenant_id
-- ('platform' for the defaults, the partner's tenant for its overrides) so that a partner reads the
-- defaults and its own overrides, never another partner's.

-- VAT on the commission by region (ISO 3166-1 alpha-2: the partner's address country). A region
-- without a row pays no VAT on commission.
CREATE TABLE vat_rates (
  region char(2) PRIMARY KEY CHECK (region ~ '^[A-Z]{2}$'),
  rate_bps integer NOT NULL CHECK (rate_bps BETWEEN 0 AND 5000),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO vat_rates (region, rate_bps) VALUES ('EG', 1400), ('SA', 1500), ('AE', 500);

-- Tiers: a rate per band of the partner's captured volume over the last 30 days (minor units of
-- `currency`; a NULL currency applies to every currency, its thresholds counted in whatever the
-- shop's currency is). The band is the row with the largest min_volume_minor not above the volume.
-- A partner with any row of its own (for the currency, or NULL) uses its rows only; else the
-- platform's. Exact-currency rows win over NULL-currency rows.
CREATE TABLE commission_tiers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid,
  currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
  tier text NOT NULL CHECK (tier ~ '^[a-z][a-z0-9_-]{0,31}$'),
  min_volume_minor bigint NOT NULL CHECK (min_volume_minor >= 0),
  rate_bps integer NOT NULL CHECK (rate_bps BETWEEN 0 AND 5000),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE,
  -- The defaults are the platform's; an override is the partner's own tenant's.
  CHECK ((partner_id IS NULL) = (tenant_id = 'platform'))
);
CREATE UNIQUE INDEX commission_tiers_band_idx
  ON commission_tiers (coalesce(partner_id, '00000000-0000-0000-0000-000000000000'::uuid), coalesce(currency, '***'), min_volume_minor);

-- The defaults: 15 % below the first band, 12 %, then 10 % (Egyptian pounds, riyals, dirhams,
-- euros, dollars; any other currency: a flat 15 %).
INSERT INTO commission_tiers (tenant_id, partner_id, currency, tier, min_volume_minor, rate_bps) VALUES
  ('platform', NULL, NULL, 'standard', 0, 1500),
  ('platform', NULL, 'EGP', 'standard', 0, 1500),
  ('platform', NULL, 'EGP', 'silver', 50000000, 1200),
  ('platform', NULL, 'EGP', 'gold', 200000000, 1000),
  ('platform', NULL, 'SAR', 'standard', 0, 1500),
  ('platform', NULL, 'SAR', 'silver', 4000000, 1200),
  ('platform', NULL, 'SAR', 'gold', 15000000, 1000),
  ('platform', NULL, 'AED', 'standard', 0, 1500),
  ('platform', NULL, 'AED', 'silver', 4000000, 1200),
  ('platform', NULL, 'AED', 'gold', 15000000, 1000),
  ('platform', NULL, 'EUR', 'standard', 0, 1500),
  ('platform', NULL, 'EUR', 'silver', 1000000, 1200),
  ('platform', NULL, 'EUR', 'gold', 4000000, 1000),
  ('platform', NULL, 'USD', 'standard', 0, 1500),
  ('platform', NULL, 'USD', 'silver', 1000000, 1200),
  ('platform', NULL, 'USD', 'gold', 4000000, 1000);

-- Performance bonuses: basis points off the tier's rate while the partner meets the bar (all that
-- apply add up; the rate never goes below zero).
--   rating:  the shop's average review >= min_value with at least min_count reviews;
--   on_time: of the shop's repair orders delivered in the last 90 days that came from a booking, the
--            share ready (ready_for_pickup or delivered) by the booking's end >= min_value (0..1),
--            with at least min_count such orders.
CREATE TABLE commission_bonuses (
  key text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_-]{0,31}$'),
  kind text NOT NULL CHECK (kind IN ('rating', 'on_time')),
  min_value numeric(6,3) NOT NULL CHECK (min_value >= 0),
  min_count integer NOT NULL CHECK (min_count >= 0),
  reduction_bps integer NOT NULL CHECK (reduction_bps BETWEEN 0 AND 5000),
  active boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'on_time' OR min_value <= 1),
  CHECK (kind <> 'rating' OR min_value <= 5)
);
INSERT INTO commission_bonuses (key, kind, min_value, min_count, reduction_bps) VALUES
  ('top_rated', 'rating', 4.5, 10, 100),
  ('on_time', 'on_time', 0.95, 10, 50);

-- Partners' payout accounts (Stripe Connect: `acct_...`). One per partner and provider.
CREATE TABLE partner_payout_accounts (
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL,
  provider text NOT NULL CHECK (provider IN ('stripe')),
  account_ref text NOT NULL CHECK (length(account_ref) BETWEEN 1 AND 255),
  -- `pending`: created, the partner has not finished the provider's onboarding; `active`: payouts
  -- go there; `disabled`: none do.
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'disabled')),
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (partner_id, provider),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id) ON DELETE CASCADE
);

-- Payouts: what a partner was paid out of its shop_payable balance. Written first (status
-- `pending`), then the provider's transfer (idempotency key = the payout id), then `paid` with the
-- ledger transfer shop_payable -> provider_clearing(stripe): a retry after a crash finds the row and
-- the provider answers the same transfer again, so nobody is paid twice.
CREATE TABLE payouts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL,
  -- The payout run's key (`weekly:<partner>:<local week start>` or `manual:<key>`): one payout each.
  run_key text NOT NULL UNIQUE CHECK (length(run_key) BETWEEN 1 AND 200),
  provider text NOT NULL CHECK (provider IN ('stripe')),
  account_ref text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
  transfer_ref text,
  ledger_transfer_id uuid,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  failure text CHECK (length(failure) <= 1000),
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id),
  CHECK ((status = 'paid') = (transfer_ref IS NOT NULL AND completed_at IS NOT NULL)),
  CHECK (period_end >= period_start),
  UNIQUE (tenant_id, id)
);
CREATE INDEX payouts_partner_idx ON payouts (partner_id, created_at DESC, id DESC);
CREATE INDEX payouts_tenant_idx ON payouts (tenant_id, created_at DESC, id DESC);
-- At most one payout in flight per partner and currency.
CREATE UNIQUE INDEX payouts_one_pending_idx ON payouts (partner_id, currency) WHERE status = 'pending';

-- One row per capture (idempotent per capture_ref). tenant_id is the shop's; payment_id is P3's
-- payments row (no foreign key: the payments migration is independent of this one).
CREATE TABLE commissions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL,
  payment_id uuid NOT NULL,
  capture_ref text NOT NULL UNIQUE CHECK (length(capture_ref) BETWEEN 1 AND 200),
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  tier text NOT NULL,
  tier_rate_bps integer NOT NULL CHECK (tier_rate_bps BETWEEN 0 AND 10000),
  bonus_bps integer NOT NULL CHECK (bonus_bps >= 0),
  rate_bps integer NOT NULL CHECK (rate_bps BETWEEN 0 AND 10000),
  commission_minor bigint NOT NULL CHECK (commission_minor >= 0),
  region char(2) NOT NULL,
  vat_rate_bps integer NOT NULL CHECK (vat_rate_bps >= 0),
  vat_minor bigint NOT NULL CHECK (vat_minor >= 0),
  net_minor bigint NOT NULL CHECK (net_minor >= 0),
  -- Set when a payout covers it (the payout statement lists these).
  payout_id uuid REFERENCES payouts (id),
  captured_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id),
  CHECK (commission_minor + vat_minor + net_minor = amount_minor)
);
CREATE INDEX commissions_partner_idx ON commissions (partner_id, captured_at DESC, id DESC);
CREATE INDEX commissions_tenant_idx ON commissions (tenant_id, captured_at DESC, id DESC);
CREATE INDEX commissions_payment_idx ON commissions (payment_id);
CREATE INDEX commissions_unpaid_idx ON commissions (partner_id) WHERE payout_id IS NULL;

-- What a refund returned of the commission and its VAT (pro rata, cumulative: a payment refunded in
-- full returns exactly what was taken). Idempotent per refund_ref.
CREATE TABLE commission_reversals (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid NOT NULL,
  payment_id uuid NOT NULL,
  refund_ref text NOT NULL UNIQUE CHECK (length(refund_ref) BETWEEN 1 AND 200),
  refunded_minor bigint NOT NULL CHECK (refunded_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  commission_minor bigint NOT NULL CHECK (commission_minor >= 0),
  vat_minor bigint NOT NULL CHECK (vat_minor >= 0),
  region char(2) NOT NULL,
  payout_id uuid REFERENCES payouts (id),
  reversed_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id)
);
CREATE INDEX commission_reversals_payment_idx ON commission_reversals (payment_id);
CREATE INDEX commission_reversals_partner_idx ON commission_reversals (partner_id, reversed_at DESC);

-- Documents sent by mail (api/src/documents/email-receipt.ts): one row per document and recipient
-- once the mail server accepted it, so an outbox event delivered twice sends one receipt (a crash
-- between the send and this row sends it again: at least once, documented).
CREATE TABLE document_emails (
  tenant_id text NOT NULL REFERENCES tenants (id),
  kind text NOT NULL CHECK (kind IN ('receipt')),
  subject_id uuid NOT NULL,
  recipient text NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, subject_id, recipient)
);

-- Row-level security: the shop's tenant reads its own; the platform everything. The defaults of
-- commission_tiers (tenant 'platform') are readable by every tenant (they say what a shop pays).
ALTER TABLE commission_tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE commission_tiers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON commission_tiers USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON commission_tiers TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY defaults_read ON commission_tiers FOR SELECT TO clutch_app USING (tenant_id = 'platform');

ALTER TABLE partner_payout_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_payout_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON partner_payout_accounts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON partner_payout_accounts TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE payouts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payouts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON payouts TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE commissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE commissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON commissions USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON commissions TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE document_emails ENABLE ROW LEVEL SECURITY;
ALTER TABLE document_emails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON document_emails USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON document_emails TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE commission_reversals ENABLE ROW LEVEL SECURITY;
ALTER TABLE commission_reversals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON commission_reversals USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON commission_reversals TO clutch_system USING (true) WITH CHECK (true);

-- Tenant work: a capture or refund made by a shop's user records its commission in the shop's
-- tenant; a partner admin connects its payout account and reads its commissions and payouts.
-- Configuration and payouts are written by the platform only.
GRANT SELECT ON vat_rates, commission_bonuses, commission_tiers, payouts TO clutch_app;
GRANT SELECT, INSERT ON commissions, commission_reversals TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON partner_payout_accounts TO clutch_app;
