-- People who sign in (issue 14): car owners, partner staff, platform staff.
--
-- Every user belongs to exactly one tenant. Partner organisations (repair centers, parts shops,
-- fleets) are tenants as before; car owners all live in the one consumer tenant ('consumers') and
-- platform staff in 'platform'. Inside the consumer tenant row-level security cannot tell owners
-- apart, so what an owner may see is decided by the policy function (own vehicle, own booking) with
-- vehicles.owner_user_id as the fact it checks.
--
-- Email addresses are unique platform-wide (one account per address) and stored lower-cased: sign-in
-- and reset look an address up before any tenant is known, through the system scope.

ALTER TABLE tenants ADD COLUMN kind text NOT NULL DEFAULT 'partner' CHECK (kind IN ('consumer', 'partner', 'platform'));
INSERT INTO tenants (id, name, kind) VALUES ('consumers', 'Car owners', 'consumer'), ('platform', 'Clutch platform', 'platform')
ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind;
-- One of each: they are the homes of self-registered owners and of platform staff.
CREATE UNIQUE INDEX tenants_one_consumer_idx ON tenants (kind) WHERE kind IN ('consumer', 'platform');

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email) AND position('@' IN email) > 1),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  -- argon2id PHC string; NULL until an invited user sets a password.
  password_hash text,
  email_verified_at timestamptz,
  locale text NOT NULL DEFAULT 'en' CHECK (locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
  time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (email);
CREATE INDEX users_tenant_idx ON users (tenant_id);

-- The owner of a car in the consumer tenant (NULL for fleet and partner vehicles).
ALTER TABLE vehicles ADD COLUMN owner_user_id uuid REFERENCES users (id);
CREATE INDEX vehicles_owner_idx ON vehicles (owner_user_id) WHERE owner_user_id IS NOT NULL;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON users TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE ON users TO clutch_app;
