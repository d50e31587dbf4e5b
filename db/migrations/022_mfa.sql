-- Multi-factor authentication, passkeys and biometric sign-in (issue 14).
--
-- A user's second factors: a TOTP app, one-time codes by email or SMS (mfa_factors), WebAuthn
-- passkeys (webauthn_credentials) and ten one-time backup codes (mfa_backup_codes). Phones that
-- sign in with the owner's fingerprint or face register a device-bound P-256 public key
-- (biometric_device_keys). Everything a server hands out to be answered once (a WebAuthn or
-- biometric challenge, an emailed or texted code) is a row that is deleted or marked when used.
--
-- Secrets are never stored in the clear: TOTP secrets are AES-256-GCM ciphertext (the key is
-- configuration, not data), codes are HMAC digests keyed the same way, so a copy of the database
-- alone yields neither a working TOTP secret nor a way to test guesses offline.
--
-- Every row belongs to one user and carries the user's tenant for row-level security. Car owners
-- all share the consumer tenant, where RLS cannot tell them apart: every query names user_id.

CREATE TABLE mfa_factors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('totp', 'email', 'sms')),
  -- TOTP: version byte, IV, GCM tag and ciphertext of the shared secret (identity/src/mfa/crypto.ts).
  secret bytea,
  -- SMS: the number codes go to (E.164).
  phone text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
  -- TOTP: the last time step accepted; a code of this step or an earlier one is never accepted again.
  last_used_step bigint,
  -- NULL while being set up: the factor counts only once a first code proved it works.
  confirmed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  CHECK ((kind = 'totp') = (secret IS NOT NULL)),
  CHECK ((kind = 'sms') = (phone IS NOT NULL)),
  -- One factor of each kind per user; setting one up again replaces an unconfirmed one.
  UNIQUE (user_id, kind)
);
CREATE INDEX mfa_factors_tenant_idx ON mfa_factors (tenant_id);

CREATE TABLE mfa_backup_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz,
  UNIQUE (user_id, code_hash)
);
CREATE INDEX mfa_backup_codes_tenant_idx ON mfa_backup_codes (tenant_id);

-- Codes sent by email or SMS: 6 digits, a few minutes, single use, a few attempts each.
CREATE TABLE mfa_one_time_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  -- setup (confirms a factor), login (completes a sign-in), step-up (a signed-in session).
  purpose text NOT NULL CHECK (purpose IN ('setup', 'login', 'step-up')),
  code_hash bytea NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz
);
CREATE INDEX mfa_one_time_codes_user_idx ON mfa_one_time_codes (user_id, channel, created_at DESC);
CREATE INDEX mfa_one_time_codes_tenant_idx ON mfa_one_time_codes (tenant_id);

CREATE TABLE webauthn_credentials (
  -- The authenticator's credential id, base64url (what browsers send back).
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]+$' AND length(id) BETWEEN 16 AND 1366),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- COSE public key as the authenticator gave it.
  public_key bytea NOT NULL,
  -- Signature counter: an assertion whose counter does not move forward (when it is used) is refused.
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports text[] NOT NULL DEFAULT '{}',
  device_type text NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  backed_up boolean NOT NULL DEFAULT false,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);
CREATE INDEX webauthn_credentials_tenant_idx ON webauthn_credentials (tenant_id);

-- A phone's secure-enclave key (ES256, P-256), registered after a normal sign-in.
CREATE TABLE biometric_device_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- SubjectPublicKeyInfo, DER.
  public_key bytea NOT NULL,
  device_name text NOT NULL CHECK (length(device_name) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX biometric_device_keys_user_idx ON biometric_device_keys (user_id);
CREATE INDEX biometric_device_keys_tenant_idx ON biometric_device_keys (tenant_id);

-- Server challenges for WebAuthn ceremonies and biometric sign-in: single use (deleted when
-- answered), short-lived, bound to a user and, for biometric sign-in, to the device key.
CREATE TABLE mfa_challenges (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('webauthn-registration', 'webauthn-authentication', 'biometric')),
  challenge text NOT NULL CHECK (length(challenge) BETWEEN 16 AND 128),
  device_key_id uuid REFERENCES biometric_device_keys (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CHECK ((purpose = 'biometric') = (device_key_id IS NOT NULL))
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id, purpose);
CREATE INDEX mfa_challenges_tenant_idx ON mfa_challenges (tenant_id);
CREATE INDEX mfa_challenges_expiry_idx ON mfa_challenges (expires_at);

-- Sign-in challenges (the signed `mfa-login` tokens a password sign-in hands out, by their jti)
-- already completed: a token completes one sign-in, not one per code. Kept until the token would
-- have expired anyway. No tenant: only the platform's own sign-in work reads and writes it.
CREATE TABLE mfa_used_login_challenges (
  id uuid PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX mfa_used_login_challenges_expiry_idx ON mfa_used_login_challenges (expires_at);

ALTER TABLE mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_factors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_factors USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON mfa_factors TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_factors TO clutch_app;

ALTER TABLE mfa_backup_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_backup_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_backup_codes USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON mfa_backup_codes TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_backup_codes TO clutch_app;

ALTER TABLE mfa_one_time_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_one_time_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_one_time_codes USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON mfa_one_time_codes TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_one_time_codes TO clutch_app;

ALTER TABLE webauthn_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE webauthn_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webauthn_credentials USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON webauthn_credentials TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON webauthn_credentials TO clutch_app;

ALTER TABLE biometric_device_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE biometric_device_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON biometric_device_keys USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON biometric_device_keys TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON biometric_device_keys TO clutch_app;

ALTER TABLE mfa_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_challenges USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON mfa_challenges TO clutch_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, DELETE ON mfa_challenges TO clutch_app;
