-- Idempotency keys (draft-ietf-httpapi-idempotency-key-header) for the API's POSTs that create or
-- move something: one row per (caller, key). The row is inserted before the request runs, in its own
-- short transaction, so a concurrent duplicate sees it and is refused (409); a finished request stores
-- its response for replay. Rows live 24 h, then a scheduled purge deletes them (api/src/http/idempotency.ts).
--
-- `principal` names the caller the key belongs to ('admin', 'partner:<tenant>:<key id>', later user
-- sessions), so two callers never see each other's keys; `tenant_id` is set for tenant callers only
-- (NULL for admins) and row-level security confines a tenant's requests to its own rows.
CREATE TABLE idempotency_keys (
  tenant_id text,
  principal text NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method text NOT NULL,
  path text NOT NULL,
  -- SHA-256 of method, path and the canonical JSON body: same key with another request is a 422.
  fingerprint bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
  -- Who holds the running row: the completing request updates only its own claim, never one taken
  -- over after its lock timed out.
  claim uuid NOT NULL,
  -- NULL while the request runs; the stored response's status once it finished (5xx are never stored).
  status integer CHECK (status BETWEEN 100 AND 499),
  -- { headers: { name: value }, body: <exact response text> | null } once finished.
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (principal, key),
  CHECK ((status IS NULL) = (response IS NULL))
);
-- The purge deletes by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO clutch_app;
