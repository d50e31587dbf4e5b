-- Cash (pay at the shop) IOUs in the database (issue 16; docs/payments.md, "Cash"): the cash
-- provider is our own, so its books live beside the payments they back and survive a restart, and
-- every process of a scaled-out platform sees the same IOU. Before this they were kept in memory.
--
-- tenant_id is the payee's tenant (the shop's), copied from the payment the IOU backs; an IOU for no
-- payment we know (a provider used on its own) is the platform's. Row-level security as everywhere
-- (migration 018): the shop reads its own IOUs, the platform's system work reaches all of them.
--
-- cash_requests is the provider's idempotency record: one row per idempotency key with the request's
-- fingerprint and the answer given, so a retried call gets the first answer back and the same key
-- with other parameters is refused (as Stripe and PayPal do). Both tables change only together, in
-- one transaction that locks the IOU row (SELECT ... FOR UPDATE): two processes settling one IOU at
-- once are serialised by the database, not by a lock in one process's memory.

CREATE TABLE cash_ious (
  ref text PRIMARY KEY CHECK (ref ~ '^cash_[0-9a-f]{24}$'),
  tenant_id text NOT NULL REFERENCES tenants (id),
  payment_id uuid REFERENCES payments (id),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  authorized_minor bigint NOT NULL CHECK (authorized_minor > 0),
  captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0 AND captured_minor <= authorized_minor),
  refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
  status text NOT NULL CHECK (status IN ('authorized', 'captured', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cash_ious_tenant_idx ON cash_ious (tenant_id, created_at DESC);
CREATE INDEX cash_ious_payment_idx ON cash_ious (payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE cash_requests (
  idempotency_key text PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  tenant_id text NOT NULL REFERENCES tenants (id),
  request text NOT NULL,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE cash_ious ENABLE ROW LEVEL SECURITY;
ALTER TABLE cash_ious FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cash_ious USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON cash_ious TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE cash_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE cash_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cash_requests USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON cash_requests TO clutch_system USING (true) WITH CHECK (true);

-- A shop reads its IOUs (pages, reconciliation); only the platform's provider writes them.
GRANT SELECT ON cash_ious TO clutch_app;
