-- Transactional outbox: a domain change and the events it announces commit (or roll back) together.
-- One relay per deployment reads undelivered rows in `seq` order, hands them to its sinks (Socket.io,
-- notifications, webhooks) and stamps `delivered_at`; a crash between the two redelivers, so `id` is
-- the stable key consumers dedupe on (jobs/src/outbox/, docs/jobs.md). tenant_id is NULL for
-- platform events, which no tenant sees.
CREATE TABLE outbox_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  tenant_id text,
  topic text NOT NULL CHECK (topic ~ '^[a-z0-9][a-z0-9._-]{0,127}$'),
  payload jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);

-- The relay's only read: the undelivered head in seq order. Delivered rows drop out of the index.
CREATE INDEX outbox_events_pending_idx ON outbox_events (seq) WHERE delivered_at IS NULL;
-- Pruning delivered rows by age.
CREATE INDEX outbox_events_delivered_idx ON outbox_events (delivered_at) WHERE delivered_at IS NOT NULL;

ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events USING (tenant_id = current_setting('app.tenant_id', true));

-- Tenant-scoped transactions (db.withTenant) append their own events; the relay runs as the owner.
GRANT SELECT, INSERT ON outbox_events TO clutch_app;
GRANT USAGE ON SEQUENCE outbox_events_seq_seq TO clutch_app;

-- Wakes a listening relay at commit (NOTIFY is transactional: a rolled-back insert wakes nobody). One
-- notification per statement; PostgreSQL folds identical ones within a transaction.
CREATE FUNCTION clutch_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clutch_outbox', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION clutch_outbox_notify();
