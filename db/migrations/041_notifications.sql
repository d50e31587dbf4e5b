-- Notifications (issue 17 item 2, docs/notifications.md): one path for every channel. A
-- notification is stored once per recipient (deduplicated by its dedupe key), dispatched by the
-- `notification-dispatch` job into one delivery per channel and target, each sent by a
-- `notification-send` job. Everything here is personal: a signed-in user reads and changes only
-- their own rows (the `own_rows` policies below), not a colleague's in the same tenant.

CREATE TABLE notification_settings (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  tenant_id text NOT NULL REFERENCES tenants (id),
  -- IANA zone quiet hours and do-not-disturb are read in (checked by the API before it is stored).
  time_zone text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  -- Local wall-clock times; a window may cross midnight (22:00-07:00). Both or neither.
  quiet_start time,
  quiet_end time,
  dnd_until timestamptz,
  phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  -- {channel: boolean}; a channel not named keeps its default (docs/notifications.md).
  channels jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(channels) = 'object'),
  -- {category: {channel: boolean}}; likewise.
  categories jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(categories) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
  CHECK (quiet_start IS NULL OR quiet_start <> quiet_end)
);
CREATE INDEX notification_settings_tenant_idx ON notification_settings (tenant_id);

CREATE TABLE notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  category text NOT NULL CHECK (category IN ('health_alert', 'trouble_code', 'booking', 'estimate', 'payment', 'chat', 'announcement')),
  -- The catalogue key prefix the text was rendered from (`notify.chat.message`), or `notify.custom`
  -- for an administrator's own title and body.
  template text NOT NULL CHECK (length(template) BETWEEN 1 AND 128),
  params jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
  -- Rendered once, in the recipient's language, when the notification was requested.
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body text NOT NULL CHECK (length(body) <= 4000),
  -- A path on the web app, never another origin.
  url text CHECK (url IS NULL OR (url ~ '^/[^/\\]' AND length(url) <= 2000) OR url = '/'),
  urgent boolean NOT NULL DEFAULT false,
  dedupe_key text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 256),
  send_at timestamptz NOT NULL DEFAULT now(),
  -- scheduled: waits for send_at; pending: its dispatch job is queued; dispatched: fanned out into
  -- deliveries; cancelled: a scheduled send withdrawn before it went.
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('scheduled', 'pending', 'dispatched', 'cancelled')),
  -- Shown in the inbox (the in_app channel was on when it was dispatched).
  in_app boolean NOT NULL DEFAULT false,
  -- Who asked: `user:<id>` for an administrator's send, null for the platform's own events.
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz,
  read_at timestamptz,
  opened_at timestamptz,
  CONSTRAINT notifications_dedupe_key UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_inbox_idx ON notifications (user_id, dispatched_at DESC, id DESC) WHERE in_app;
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE in_app AND read_at IS NULL;

CREATE TABLE notification_devices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('web_push', 'fcm', 'apns')),
  -- FCM registration token or APNs device token.
  token text CHECK (token IS NULL OR length(token) BETWEEN 1 AND 4096),
  -- A Web Push subscription (RFC 8030 endpoint, RFC 8291 keys).
  endpoint text CHECK (endpoint IS NULL OR (endpoint LIKE 'https://%' AND length(endpoint) <= 2048)),
  p256dh text CHECK (p256dh IS NULL OR length(p256dh) BETWEEN 1 AND 256),
  auth text CHECK (auth IS NULL OR length(auth) BETWEEN 1 AND 256),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  -- Set when the provider answered that the token or endpoint is gone: never sent to again.
  disabled_at timestamptz,
  disabled_reason text,
  CHECK (CASE kind WHEN 'web_push' THEN endpoint IS NOT NULL AND p256dh IS NOT NULL AND auth IS NOT NULL AND token IS NULL
                   ELSE token IS NOT NULL AND endpoint IS NULL AND p256dh IS NULL AND auth IS NULL END),
  CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);
-- One row per browser subscription or app install, whoever holds it now.
CREATE UNIQUE INDEX notification_devices_target_idx ON notification_devices (kind, (coalesce(token, endpoint)));
CREATE INDEX notification_devices_user_idx ON notification_devices (user_id) WHERE disabled_at IS NULL;

CREATE TABLE notification_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel text NOT NULL CHECK (channel IN ('in_app', 'web_push', 'fcm', 'apns', 'email', 'sms')),
  device_id uuid REFERENCES notification_devices (id) ON DELETE SET NULL,
  -- What it was sent to: the device id, the address, the phone number, `inbox`.
  target_ref text NOT NULL CHECK (length(target_ref) BETWEEN 1 AND 2048),
  state text NOT NULL CHECK (state IN ('queued', 'deferred', 'sent', 'delivered', 'opened', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- While deferred: when quiet hours or do-not-disturb let it go.
  deferred_until timestamptz,
  provider_message_id text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notification_deliveries_target UNIQUE (notification_id, channel, target_ref)
);
CREATE INDEX notification_deliveries_user_idx ON notification_deliveries (user_id);

-- The state gate: queued -> deferred <-> queued -> sent -> delivered -> opened, and failed from
-- anything not yet delivered. Nothing leaves `failed` and nothing goes back to `sent`, so a message
-- a provider rejected can never be shown as sent.
CREATE FUNCTION notification_delivery_gate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state NOT IN ('queued', 'deferred', 'delivered') THEN
      RAISE EXCEPTION 'a delivery starts queued, deferred or (in_app) delivered, not %', NEW.state
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
       (OLD.state IN ('queued', 'deferred') AND NEW.state IN ('queued', 'deferred', 'sent', 'failed'))
    OR (OLD.state = 'sent' AND NEW.state IN ('delivered', 'opened', 'failed'))
    OR (OLD.state = 'delivered' AND NEW.state = 'opened')) THEN
    RAISE EXCEPTION 'delivery % cannot go from % to %', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER notification_deliveries_gate BEFORE INSERT OR UPDATE ON notification_deliveries
  FOR EACH ROW EXECUTE FUNCTION notification_delivery_gate();

-- Row-level security: tenant isolation and the platform's access as everywhere (018), and the
-- signed-in user's own rows only (app.user_id). Writes for other people (dispatch, sends, an
-- administrator's announcement) run in system scopes.
CREATE FUNCTION notification_own_user() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION notification_own_user() TO clutch_app;

ALTER TABLE notification_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_settings USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON notification_settings TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY own_rows ON notification_settings AS RESTRICTIVE TO clutch_app
  USING (user_id = (SELECT notification_own_user())) WITH CHECK (user_id = (SELECT notification_own_user()));
GRANT SELECT, INSERT, UPDATE ON notification_settings TO clutch_app;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON notifications TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY own_rows ON notifications AS RESTRICTIVE TO clutch_app
  USING (user_id = (SELECT notification_own_user())) WITH CHECK (user_id = (SELECT notification_own_user()));
-- The user marks their own read and opened; everything else is the platform's.
GRANT SELECT, UPDATE (read_at, opened_at) ON notifications TO clutch_app;

ALTER TABLE notification_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_devices USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON notification_devices TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY own_rows ON notification_devices AS RESTRICTIVE TO clutch_app
  USING (user_id = (SELECT notification_own_user())) WITH CHECK (user_id = (SELECT notification_own_user()));
-- Registration goes through notification_register_device (a token may move between accounts).
GRANT SELECT, DELETE ON notification_devices TO clutch_app;

ALTER TABLE notification_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_deliveries USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON notification_deliveries TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY own_rows ON notification_deliveries AS RESTRICTIVE TO clutch_app
  USING (user_id = (SELECT notification_own_user())) WITH CHECK (user_id = (SELECT notification_own_user()));
GRANT SELECT, UPDATE (state) ON notification_deliveries TO clutch_app;

-- Registers a push target for the transaction's user: a browser subscription or app token that
-- another account registered before (a shared browser, a new sign-in on the phone) moves to this
-- user and is enabled again. SECURITY DEFINER because that row may belong to another tenant, which
-- the tenant role can neither see nor update; the caller can only ever register for itself.
CREATE FUNCTION notification_register_device(
  p_kind text, p_token text, p_endpoint text, p_p256dh text, p_auth text
) RETURNS SETOF notification_devices
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user uuid := nullif(current_setting('app.user_id', true), '')::uuid;
  v_tenant text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
  IF v_user IS NULL OR v_tenant IS NULL THEN
    RAISE EXCEPTION 'notification_register_device needs a signed-in user' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY
  INSERT INTO notification_devices AS d (tenant_id, user_id, kind, token, endpoint, p256dh, auth)
  VALUES (v_tenant, v_user, p_kind, p_token, p_endpoint, p_p256dh, p_auth)
  ON CONFLICT (kind, (coalesce(token, endpoint))) DO UPDATE
    SET tenant_id = EXCLUDED.tenant_id, user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
        auth = EXCLUDED.auth, disabled_at = NULL, disabled_reason = NULL,
        created_at = CASE WHEN d.user_id = EXCLUDED.user_id THEN d.created_at ELSE now() END
  RETURNING d.*;
END
$$;
REVOKE ALL ON FUNCTION notification_register_device(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notification_register_device(text, text, text, text, text) TO clutch_app;
