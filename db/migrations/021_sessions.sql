-- Sign-in sessions and the single-use tokens of account mail (issue 14).
--
-- A session is one signed-in device: a browser (cookies) or the mobile app (bearer tokens). It is
-- also the family of its refresh tokens: each refresh replaces the live token with a new one and
-- keeps the old one (rotated_at set) so that presenting a replaced token again is recognised as
-- reuse, which revokes the whole session. Access tokens are signed JWTs that name their session;
-- the API refuses them as soon as the session is revoked (identity/src/sessions, docs/identity.md).
--
-- Every token (refresh, email verification, password reset, invitation) is 256 random bits stored
-- only as its SHA-256: a copy of the database holds nothing that signs anyone in.
--
-- Every row carries the user's tenant for row-level security; in the consumer tenant RLS cannot tell
-- owners apart, so every query names user_id (or goes through the session id).

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client text NOT NULL CHECK (client IN ('browser', 'mobile')),
  device_name text CHECK (length(device_name) BETWEEN 1 AND 100),
  -- SHA-256 of the device fingerprint (docs/identity.md): a refresh from another one revokes the session.
  fingerprint_sha256 bytea,
  ip inet,
  user_agent text CHECK (length(user_agent) <= 512),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  -- The last MFA check in this session (sign-in with a second factor, or a step-up).
  mfa_at timestamptz,
  -- Absolute end: no refresh extends a session beyond it.
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_tenant_idx ON sessions (tenant_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
  token_sha256 bytea PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id),
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  -- The token this one replaced (NULL for the first token of a session).
  parent_sha256 bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Idle timeout: a token unused this long no longer refreshes.
  expires_at timestamptz NOT NULL,
  -- Set when a refresh replaced this token; from then on presenting it is reuse.
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_sha256) WHERE parent_sha256 IS NOT NULL;
-- At most one live token per session: the rotation invariant, enforced by the database too.
CREATE UNIQUE INDEX refresh_tokens_one_live_idx ON refresh_tokens (session_id) WHERE rotated_at IS NULL;
CREATE INDEX refresh_tokens_tenant_idx ON refresh_tokens (tenant_id);

CREATE TABLE account_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify-email', 'password-reset', 'invitation')),
  token_sha256 bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX account_tokens_tenant_idx ON account_tokens (tenant_id);

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON sessions TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON refresh_tokens TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON account_tokens USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON account_tokens TO clutch_system USING (true) WITH CHECK (true);

-- A signed-in user lists their own sessions in their tenant's scope. Everything else (sign-in,
-- refresh, revocation, mail tokens) is credential work the API does as the platform.
GRANT SELECT ON sessions TO clutch_app;
