-- Payments (issue 16; docs/payments-flows.md): one row per attempt to take money, its refunds, its
-- history, the provider webhooks we received (deduplicated by event id), and the daily reconciliation
-- reports.
--
-- Two-party rows like bookings (migration 026): tenant_id is the payee's tenant (the shop's; the
-- customer's own for a wallet top-up), customer_tenant_id / customer_user_id say who pays, and the
-- `customer_access` policy lets that side read and write its own rows.
--
-- Exactly once: a payment row is stored first (`pending`, `version` 1), its id is the root of every
-- idempotency key sent to the provider, and each result is stored with a compare-and-set on
-- `version`. The state machine (api/src/payments/states.ts) is written again here as the table of
-- allowed transitions, and a trigger refuses every other change of status, whoever makes it.

CREATE TABLE payment_transitions (
  from_status text NOT NULL,
  to_status text NOT NULL,
  PRIMARY KEY (from_status, to_status)
);

INSERT INTO payment_transitions (from_status, to_status) VALUES
  ('pending', 'requires_action'),
  ('pending', 'authorized'),
  ('pending', 'captured'),
  ('pending', 'cancelled'),
  ('pending', 'failed'),
  ('requires_action', 'authorized'),
  ('requires_action', 'captured'),
  ('requires_action', 'cancelled'),
  ('requires_action', 'failed'),
  ('authorized', 'captured'),
  ('authorized', 'cancelled'),
  ('captured', 'partially_refunded'),
  ('captured', 'refunded'),
  ('partially_refunded', 'refunded');

CREATE TABLE payments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  partner_id uuid REFERENCES partners (id),
  booking_id uuid REFERENCES bookings (id),
  repair_order_id uuid REFERENCES repair_orders (id),
  installment_id uuid,
  customer_tenant_id text NOT NULL REFERENCES tenants (id),
  customer_user_id uuid,
  purpose text NOT NULL CHECK (purpose IN ('booking', 'repair', 'wallet_topup', 'installment', 'late_fee')),
  provider text NOT NULL CHECK (provider IN ('stripe', 'paypal', 'cash', 'wallet')),
  provider_ref text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN (
    'pending', 'requires_action', 'authorized', 'captured', 'partially_refunded', 'refunded', 'cancelled', 'failed')),
  capture_method text NOT NULL DEFAULT 'manual' CHECK (capture_method IN ('manual', 'automatic')),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
  refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
  commission_minor bigint NOT NULL DEFAULT 0 CHECK (commission_minor >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  payment_method text CHECK (length(payment_method) <= 200),
  hold_transfer_id uuid,
  authorization_expires_at timestamptz,
  risk_assessment_id uuid,
  failure_code text CHECK (length(failure_code) <= 200),
  -- The compare-and-set counter: every change is `UPDATE ... WHERE id = $1 AND version = $2`.
  version integer NOT NULL DEFAULT 1,
  -- How many captures were recorded (the ledger's transfer ids count them: capture:<id>:<seq>).
  capture_seq integer NOT NULL DEFAULT 0,
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (customer_tenant_id, customer_user_id) REFERENCES users (tenant_id, id),
  CHECK (captured_minor <= amount_minor),
  CHECK (refunded_minor <= captured_minor),
  CHECK (provider = 'wallet' OR provider_ref IS NOT NULL OR status IN ('pending', 'failed', 'cancelled')),
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX payments_provider_ref_key ON payments (provider, provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX payments_tenant_created_idx ON payments (tenant_id, created_at DESC);
CREATE INDEX payments_customer_idx ON payments (customer_tenant_id, customer_user_id, created_at DESC);
CREATE INDEX payments_booking_idx ON payments (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX payments_repair_order_idx ON payments (repair_order_id) WHERE repair_order_id IS NOT NULL;
-- The verify job's work list (stuck in pending) and the renewal job's (holds about to lapse).
CREATE INDEX payments_pending_idx ON payments (updated_at) WHERE status IN ('pending', 'requires_action');
CREATE INDEX payments_hold_expiry_idx ON payments (authorization_expires_at) WHERE status = 'authorized';

-- The one gate on status, whoever writes: a payment starts 'pending'; a change must be a row of
-- payment_transitions; every change bumps version. SQLSTATE 23514 with constraint payment_transition.
CREATE FUNCTION payment_status_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'pending' THEN
      RAISE EXCEPTION 'a payment starts as pending, not %', NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_transition';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status
     AND NOT EXISTS (SELECT 1 FROM payment_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
    RAISE EXCEPTION 'payment % cannot move from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_transition';
  END IF;
  IF NEW.captured_minor < OLD.captured_minor OR NEW.refunded_minor < OLD.refunded_minor THEN
    RAISE EXCEPTION 'payment % cannot take back a capture or a refund', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_transition';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER payments_status_gate BEFORE INSERT OR UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION payment_status_gate();

-- `payment.updated` in the transaction of every change, whoever makes it (the customer's side may not
-- append events on the shop's tenant itself: SECURITY DEFINER, with the payload built from the row).
CREATE FUNCTION payment_announce() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO outbox_events (tenant_id, topic, payload)
  VALUES (NEW.tenant_id, 'payment.updated', jsonb_build_object(
    'paymentId', NEW.id, 'purpose', NEW.purpose, 'provider', NEW.provider, 'bookingId', NEW.booking_id,
    'repairOrderId', NEW.repair_order_id, 'partnerId', NEW.partner_id,
    'customerTenantId', NEW.customer_tenant_id, 'customerUserId', NEW.customer_user_id,
    'status', NEW.status, 'amountMinor', NEW.amount_minor, 'capturedMinor', NEW.captured_minor,
    'refundedMinor', NEW.refunded_minor, 'currency', NEW.currency, 'version', NEW.version, 'at', now()));
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION payment_announce() FROM PUBLIC;
CREATE TRIGGER payments_announce AFTER INSERT OR UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION payment_announce();

CREATE TABLE payment_refunds (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  payment_id uuid NOT NULL,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_ref text,
  reason text CHECK (length(reason) <= 500),
  requested_by text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX payment_refunds_payment_idx ON payment_refunds (payment_id, created_at);

-- The history of each payment: who moved it from what to what (append-only for tenants).
CREATE TABLE payment_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  payment_id uuid NOT NULL,
  customer_tenant_id text NOT NULL,
  customer_user_id uuid,
  from_status text,
  to_status text NOT NULL,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
  at timestamptz NOT NULL DEFAULT now(),
  data jsonb CHECK (data IS NULL OR jsonb_typeof(data) = 'object'),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);

-- Every provider webhook, once: a duplicate delivery hits the primary key and is acknowledged
-- without being processed again. Platform data (no tenant until the payment is looked up).
CREATE TABLE payment_webhook_events (
  provider text NOT NULL CHECK (provider IN ('stripe', 'paypal')),
  event_id text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
  type text NOT NULL,
  provider_ref text,
  -- The refund, dispute, transfer or payout it is about, and the event's own amount (for the record:
  -- processing retrieves the payment instead of trusting it).
  object_ref text,
  amount_minor bigint,
  currency char(3),
  occurred_at timestamptz,
  received_at timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  outcome text,
  raw jsonb NOT NULL,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX payment_webhook_events_disputes_idx ON payment_webhook_events (received_at DESC) WHERE type LIKE 'dispute.%';
CREATE INDEX payment_webhook_events_unprocessed_idx ON payment_webhook_events (received_at) WHERE processed_at IS NULL;

-- One report per reconciliation run (platform data; admins read it through an audited scope).
CREATE TABLE payment_reconciliations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider text NOT NULL,
  period_from timestamptz NOT NULL,
  period_to timestamptz NOT NULL,
  provider_transactions integer NOT NULL DEFAULT 0,
  matched integer NOT NULL DEFAULT 0,
  mismatches jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(mismatches) = 'array'),
  status text NOT NULL CHECK (status IN ('balanced', 'mismatched', 'skipped')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (period_to > period_from)
);
CREATE INDEX payment_reconciliations_created_idx ON payment_reconciliations (created_at DESC);

-- Row-level security: the payee's tenant, the platform, and the paying side.
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payments USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON payments TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON payments TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE payment_refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_refunds USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON payment_refunds TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON payment_refunds TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

ALTER TABLE payment_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_events USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON payment_events TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON payment_events TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

GRANT SELECT ON payment_transitions TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON payments, payment_refunds TO clutch_app;
GRANT SELECT, INSERT ON payment_events TO clutch_app;
