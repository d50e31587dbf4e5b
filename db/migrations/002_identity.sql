-- Device credentials and partner API keys. Secrets are random 256-bit tokens, stored as SHA-256
-- digests: a slow password hash (argon2id) buys nothing for secrets of that entropy and would make
-- every MQTT CONNECT cost tens of milliseconds during a reconnect storm.

CREATE TABLE device_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  device_id text NOT NULL,
  secret_sha256 bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);
-- At most one live credential per device: rotating revokes the old one in the same transaction.
CREATE UNIQUE INDEX device_credentials_live_idx ON device_credentials (tenant_id, device_id) WHERE revoked_at IS NULL;

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{8,32}$'),
  tenant_id text NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  scopes text[] NOT NULL,
  secret_sha256 bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

ALTER TABLE device_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device_credentials USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON api_keys USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON device_credentials, api_keys TO clutch_app;

-- Presence as the broker saw it (connect, disconnect, Last Will), separate from data timestamps.
ALTER TABLE devices ADD COLUMN online boolean NOT NULL DEFAULT false;
ALTER TABLE devices ADD COLUMN presence_changed_at timestamptz;
