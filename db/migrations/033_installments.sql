-- Installment plans (issue 16, item 4; docs/installments.md): a repair order's approved total or a
-- booking's price, financed over a few monthly installments charged off-session with a saved payment
-- method, with dunning retries, late fees, default and early payoff.
--
-- Two-party tables like bookings (migration 026, MARKETPLACE.md): tenant_id is the shop's tenant (the
-- payee), customer_tenant_id / customer_user_id the customer, and `customer_access` lets that side
-- read and write its own rows (an owner of the consumer tenant only their own). The schedule is the
-- installments table: each row is also a job on the queue (`installments.charge`, start_after = its
-- due time), enqueued in the transaction that creates the plan.
--
-- customer_standing: the flag a defaulted plan sets on the customer (tenant, user; user NULL = the
-- whole organisation, a fleet). Bookings refuse new bookings of a suspended customer; the fraud
-- domain reads it as a signal. Only the system writes it.

CREATE TABLE installment_plans (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  partner_id uuid NOT NULL,
  customer_tenant_id text NOT NULL REFERENCES tenants (id),
  customer_user_id uuid,
  repair_order_id uuid REFERENCES repair_orders (id),
  booking_id uuid REFERENCES bookings (id),
  provider text NOT NULL CHECK (provider IN ('stripe', 'paypal')),
  -- The saved payment method the installments are charged to (Stripe `pm_...`): a reference, never card data.
  payment_method text NOT NULL CHECK (length(payment_method) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paid', 'defaulted', 'cancelled')),
  financed_minor bigint NOT NULL CHECK (financed_minor > 0),
  total_fee_minor bigint NOT NULL CHECK (total_fee_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  installment_count integer NOT NULL CHECK (installment_count BETWEEN 1 AND 60),
  region text NOT NULL CHECK (region ~ '^([A-Z]{2}|default)$'),
  -- The region's terms as they were when the plan was made (pricing, late fee, dunning): later changes
  -- of the configuration do not change a running plan.
  terms jsonb NOT NULL CHECK (jsonb_typeof(terms) = 'object'),
  time_zone text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  starts_at timestamptz NOT NULL,
  -- An early payoff being charged: its idempotency key and amount stay until the charge's outcome is
  -- recorded, so a retry after a crash asks the provider with the same key (never a second charge).
  payoff_key text CHECK (length(payoff_key) <= 200),
  payoff_amount_minor bigint CHECK (payoff_amount_minor > 0),
  payoff_at timestamptz,
  payoff_attempts integer NOT NULL DEFAULT 0 CHECK (payoff_attempts >= 0),
  closed_at timestamptz,
  close_reason text CHECK (close_reason IN ('paid', 'payoff', 'defaulted', 'first_charge_failed')),
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, partner_id) REFERENCES partners (tenant_id, id),
  FOREIGN KEY (customer_tenant_id, customer_user_id) REFERENCES users (tenant_id, id),
  CHECK (num_nonnulls(repair_order_id, booking_id) = 1),
  CHECK ((status = 'active') = (closed_at IS NULL)),
  CHECK ((payoff_key IS NULL) = (payoff_amount_minor IS NULL) AND (payoff_key IS NULL) = (payoff_at IS NULL)),
  UNIQUE (tenant_id, id)
);
-- One live plan per repair order or booking: financing the same total twice is refused here.
CREATE UNIQUE INDEX installment_plans_repair_order_live ON installment_plans (repair_order_id)
  WHERE repair_order_id IS NOT NULL AND status IN ('active', 'paid');
CREATE UNIQUE INDEX installment_plans_booking_live ON installment_plans (booking_id)
  WHERE booking_id IS NOT NULL AND status IN ('active', 'paid');
CREATE INDEX installment_plans_customer_idx ON installment_plans (customer_tenant_id, customer_user_id, created_at DESC);
CREATE INDEX installment_plans_tenant_idx ON installment_plans (tenant_id, created_at DESC);

CREATE TABLE installments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  plan_id uuid NOT NULL REFERENCES installment_plans (id) ON DELETE CASCADE,
  tenant_id text NOT NULL,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  seq integer NOT NULL CHECK (seq BETWEEN 1 AND 60),
  due_at timestamptz NOT NULL,
  principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
  fee_minor bigint NOT NULL CHECK (fee_minor >= 0),
  -- The part of the fee/interest not owed because the plan was paid off before its period ended.
  fee_waived_minor bigint NOT NULL DEFAULT 0 CHECK (fee_waived_minor BETWEEN 0 AND fee_minor),
  late_fee_minor bigint NOT NULL DEFAULT 0 CHECK (late_fee_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'paid', 'failed', 'late', 'waived')),
  -- Charge attempts made (the first on the due date, then the dunning retries).
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error text CHECK (length(last_error) <= 500),
  next_attempt_at timestamptz,
  late_at timestamptz,
  paid_at timestamptz,
  -- The payments row (migration 032) that collected it.
  payment_id uuid REFERENCES payments (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES installment_plans (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (plan_id, seq),
  CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
  CHECK (status <> 'late' OR (late_at IS NOT NULL))
);
CREATE INDEX installments_due_idx ON installments (due_at) WHERE status IN ('scheduled', 'failed', 'late');

CREATE TABLE customer_standing (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid,
  status text NOT NULL CHECK (status IN ('good', 'suspended')),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  -- The plan whose default suspended the customer, when that is the reason.
  plan_id uuid REFERENCES installment_plans (id),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
  UNIQUE NULLS NOT DISTINCT (tenant_id, user_id)
);

ALTER TABLE installment_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE installment_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON installment_plans USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON installment_plans TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON installment_plans TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE installments ENABLE ROW LEVEL SECURITY;
ALTER TABLE installments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON installments USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON installments TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON installments TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE customer_standing ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_standing FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_standing USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON customer_standing TO clutch_system USING (true) WITH CHECK (true);
-- An owner of the consumer tenant sees only their own standing, not every owner's.
CREATE POLICY owner_confinement ON customer_standing AS RESTRICTIVE TO clutch_app
  USING ((SELECT rbac_confined_owner()) IS NULL OR user_id = (SELECT rbac_confined_owner()));

-- The customer creates the plan and pays it off in its own transaction; every scheduled charge, late
-- fee and default runs as the system. Standing is only read by tenants.
GRANT SELECT, INSERT, UPDATE ON installment_plans, installments TO clutch_app;
GRANT SELECT ON customer_standing TO clutch_app;
