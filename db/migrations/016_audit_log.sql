-- Audit log of administration and platform work: one row per use of a system scope in the API
-- (api/src/auth/scope.ts), written in the same transaction as the work, so a change and its record
-- commit (or roll back) together. Provisioning a device, rotating or revoking a credential, creating
-- a tenant or a key, revoking a key, replaying a dead letter: who did it (actor), what (action,
-- target) and the particulars (detail). Reads are not logged.
--
-- tenant_id is the tenant the work concerned (NULL for platform-wide work); row-level security lets a
-- tenant read its own rows only. The API writes as the owner; tenants never write here.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  tenant_id text,
  actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  action text NOT NULL CHECK (action ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  target text,
  detail jsonb NOT NULL DEFAULT '{}'
);

-- Reading back: newest first, everything or one tenant's.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, at DESC) WHERE tenant_id IS NOT NULL;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON audit_log TO clutch_app;
