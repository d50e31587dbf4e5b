-- Fraud scoring (issue 16 item 7, docs/fraud.md): every payment, booking and wallet transfer is
-- assessed inline (api/src/fraud/assess.ts); assessments that need a person open an alert in the
-- review queue; blocks stop a user, device, card or IP for a time.

-- One row per inline assessment (not per dry run). tenant_id is the payer's tenant: the payer's own
-- history is what most features read, and a tenant can see its own assessments. The card is kept
-- only as a hash of the provider's fingerprint (never a card number, never the raw fingerprint).
CREATE TABLE risk_assessments (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL,
  user_id       text,
  kind          text NOT NULL CHECK (kind IN ('payment', 'booking', 'wallet_transfer')),
  reference     text,
  amount_minor  bigint NOT NULL CHECK (amount_minor >= 0),
  currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  score         real NOT NULL CHECK (score >= 0 AND score <= 1),
  decision      text NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
  reasons       jsonb NOT NULL DEFAULT '[]'::jsonb,
  ip            text,
  ip_country    char(2),
  device_id     text,
  card_hash     text,
  card_country  char(2),
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- The user's velocity and history (newest first), and the cross-tenant counts per device, card and IP.
CREATE INDEX risk_assessments_user ON risk_assessments (tenant_id, user_id, created_at DESC);
CREATE INDEX risk_assessments_device ON risk_assessments (device_id, created_at DESC) WHERE device_id IS NOT NULL;
CREATE INDEX risk_assessments_card ON risk_assessments (card_hash, created_at DESC) WHERE card_hash IS NOT NULL;
CREATE INDEX risk_assessments_ip ON risk_assessments (ip, created_at DESC) WHERE ip IS NOT NULL;
CREATE INDEX risk_assessments_day ON risk_assessments (created_at);

-- The admin review queue: one alert per `review` or `block` assessment.
CREATE TABLE fraud_alerts (
  id             uuid PRIMARY KEY,
  tenant_id      text NOT NULL,
  assessment_id  uuid NOT NULL UNIQUE REFERENCES risk_assessments (id) ON DELETE CASCADE,
  decision       text NOT NULL CHECK (decision IN ('review', 'block')),
  score          real NOT NULL CHECK (score >= 0 AND score <= 1),
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
  reviewed_by    text,
  reviewed_at    timestamptz,
  note           text CHECK (note IS NULL OR length(note) <= 2000),
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'open') = (reviewed_at IS NULL))
);
CREATE INDEX fraud_alerts_queue ON fraud_alerts (status, created_at DESC, id DESC);
CREATE INDEX fraud_alerts_queue_all ON fraud_alerts (created_at DESC, id DESC);

ALTER TABLE risk_assessments ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_assessments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON risk_assessments USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON risk_assessments TO clutch_system USING (true) WITH CHECK (true);

ALTER TABLE fraud_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE fraud_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fraud_alerts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON fraud_alerts TO clutch_system USING (true) WITH CHECK (true);

-- Tenant work stores its own assessments and opens their alerts inline; reading, reviewing and
-- reporting are platform staff's (audited system scope), so the tenant role gets no more.
GRANT SELECT, INSERT ON risk_assessments TO clutch_app;
GRANT INSERT ON fraud_alerts TO clutch_app;

-- What is blocked, platform-wide: a user, a device, a card or an IP, for a time. Not a tenant's
-- table (a card blocked for one tenant's fraud is blocked for all), so no tenant_id and no grant to
-- the tenant role: inline checks read it through fraud_signals below, and only the automatic block
-- of a `block` assessment writes it from tenant work (fraud_auto_block). The value is a SHA-256 of
-- `<subject>:<value>` (api/src/fraud/hash.ts), so the table holds no card fingerprint or IP in clear.
CREATE TABLE fraud_blocks (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject        text NOT NULL CHECK (subject IN ('user', 'device', 'card', 'ip')),
  value_hash     text NOT NULL CHECK (value_hash ~ '^[0-9a-f]{64}$'),
  -- A hint for the admin (last four of a device id, an IP prefix); never the full value.
  label          text CHECK (label IS NULL OR length(label) <= 100),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  until          timestamptz NOT NULL,
  created_by     text NOT NULL,
  assessment_id  uuid REFERENCES risk_assessments (id) ON DELETE SET NULL,
  alert_id       uuid REFERENCES fraud_alerts (id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  lifted_at      timestamptz,
  lifted_by      text,
  CHECK (until > created_at)
);
CREATE INDEX fraud_blocks_active ON fraud_blocks (value_hash, until) WHERE lifted_at IS NULL;
CREATE INDEX fraud_blocks_listing ON fraud_blocks (created_at DESC, id DESC);

-- Everything the scorer needs in one round trip (api/src/fraud/features.ts). A device counts as the
-- user's own once an allowed attempt used it more than an hour ago: an attacker's first attempts
-- from a new device do not make it known to the ones that follow.
--
-- SECURITY DEFINER because the strongest signals cross tenants: the same card, device or IP across
-- many accounts is invisible to any one tenant's row-level security. It returns only counts, the
-- blocked subjects among the hashes given and the caller's own user's recent history (rows of the
-- caller's own tenant, which it could read anyway), never another tenant's rows. A tenant-confined
-- caller may ask only about its own tenant (app.tenant_id must match), so it cannot learn another
-- tenant's users' history through it.
CREATE FUNCTION fraud_signals(
  p_tenant text, p_user text, p_device text, p_card_hash text, p_ip text,
  p_currency text, p_at timestamptz, p_block_hashes text[]
) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
-- Planned once per connection, not per call: planning this query costs more than running it.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  confined text := nullif(current_setting('app.tenant_id', true), '');
  result jsonb;
BEGIN
  IF confined IS NOT NULL AND confined <> p_tenant THEN
    RAISE EXCEPTION 'fraud_signals: tenant % may not ask about tenant %', confined, p_tenant
      USING ERRCODE = '42501';
  END IF;
  SELECT jsonb_build_object(
    -- Cards and accounts are counted apart from the current ones (the scorer adds them back).
    'user10m', u.n10m, 'user24h', u.n24h, 'userAmount10m', u.a10m, 'userAmount24h', u.a24h,
    'userCards24h', u.cards24h, 'userCards30d', u.cards30d,
    'deviceSeen', (p_device IS NOT NULL AND EXISTS (
        SELECT 1 FROM risk_assessments r
         WHERE r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user
           AND r.device_id = p_device AND r.decision = 'allow' AND r.created_at < p_at - interval '1 hour')),
    'device10m', d.n10m, 'device24h', d.n24h, 'deviceUsers24h', d.users24h,
    'card10m', c.n10m, 'card24h', c.n24h, 'cardUsers30d', c.users30d,
    'ip10m', i.n10m, 'ipUsers24h', i.users24h,
    'blocked', coalesce((SELECT jsonb_agg(DISTINCT b.value_hash) FROM fraud_blocks b
                          WHERE b.value_hash = ANY (p_block_hashes) AND b.lifted_at IS NULL
                            AND b.until > p_at AND b.created_at <= p_at), '[]'::jsonb),
    'history', coalesce((SELECT jsonb_agg(jsonb_build_array(h.amount_minor, extract(epoch FROM h.created_at)::bigint,
                                                            h.ip_country, h.card_country, h.decision))
                           FROM (SELECT r.amount_minor, r.created_at, r.ip_country, r.card_country, r.decision
                                   FROM risk_assessments r
                                  WHERE r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user
                                    AND r.currency = p_currency AND r.created_at < p_at
                                    AND r.created_at >= p_at - interval '180 days'
                                  ORDER BY r.created_at DESC LIMIT 60) h), '[]'::jsonb)
  ) INTO result
  FROM (SELECT count(*) FILTER (WHERE r.created_at > p_at - interval '10 minutes') AS n10m,
               count(*) FILTER (WHERE r.created_at > p_at - interval '24 hours') AS n24h,
               coalesce(sum(r.amount_minor) FILTER (WHERE r.created_at > p_at - interval '10 minutes'
                                                       AND r.currency = p_currency), 0) AS a10m,
               coalesce(sum(r.amount_minor) FILTER (WHERE r.created_at > p_at - interval '24 hours'
                                                       AND r.currency = p_currency), 0) AS a24h,
               count(DISTINCT r.card_hash) FILTER (WHERE r.created_at > p_at - interval '24 hours'
                                                      AND r.card_hash IS DISTINCT FROM p_card_hash) AS cards24h,
               count(DISTINCT r.card_hash) FILTER (WHERE r.card_hash IS DISTINCT FROM p_card_hash) AS cards30d
          FROM risk_assessments r
         WHERE r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user
           AND r.created_at > p_at - interval '30 days' AND r.created_at <= p_at) u,
       (SELECT count(*) FILTER (WHERE r.created_at > p_at - interval '10 minutes') AS n10m,
               count(*) AS n24h,
               count(DISTINCT (r.tenant_id, r.user_id)) FILTER (WHERE NOT (r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user)) AS users24h
          FROM risk_assessments r
         WHERE p_device IS NOT NULL AND r.device_id = p_device
           AND r.created_at > p_at - interval '24 hours' AND r.created_at <= p_at) d,
       (SELECT count(*) FILTER (WHERE r.created_at > p_at - interval '10 minutes') AS n10m,
               count(*) FILTER (WHERE r.created_at > p_at - interval '24 hours') AS n24h,
               count(DISTINCT (r.tenant_id, r.user_id)) FILTER (WHERE NOT (r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user)) AS users30d
          FROM risk_assessments r
         WHERE p_card_hash IS NOT NULL AND r.card_hash = p_card_hash
           AND r.created_at > p_at - interval '30 days' AND r.created_at <= p_at) c,
       (SELECT count(*) FILTER (WHERE r.created_at > p_at - interval '10 minutes') AS n10m,
               count(DISTINCT (r.tenant_id, r.user_id)) FILTER (WHERE NOT (r.tenant_id = p_tenant AND r.user_id IS NOT DISTINCT FROM p_user)) AS users24h
          FROM risk_assessments r
         WHERE p_ip IS NOT NULL AND r.ip = p_ip
           AND r.created_at > p_at - interval '24 hours' AND r.created_at <= p_at) i;
  RETURN result;
END $$;
REVOKE ALL ON FUNCTION fraud_signals(text, text, text, text, text, text, timestamptz, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fraud_signals(text, text, text, text, text, text, timestamptz, text[]) TO clutch_app;

-- The automatic block of a `block` assessment (docs/fraud.md, "Blocking"), from tenant work. It
-- writes only for an assessment of the caller's own tenant that was decided `block`, so tenant work
-- cannot block at will; subjects already blocked past `p_until` are left as they are.
CREATE FUNCTION fraud_auto_block(
  p_assessment uuid, p_subjects text[], p_hashes text[], p_labels text[], p_reason text, p_until timestamptz
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  confined text := nullif(current_setting('app.tenant_id', true), '');
  at timestamptz;
  added integer;
BEGIN
  SELECT r.created_at INTO at FROM risk_assessments r
   WHERE r.id = p_assessment AND r.decision = 'block' AND (confined IS NULL OR r.tenant_id = confined);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'fraud_auto_block: no blocked assessment %', p_assessment USING ERRCODE = '42501';
  END IF;
  INSERT INTO fraud_blocks (subject, value_hash, label, reason, until, created_by, assessment_id, created_at)
  SELECT s.subject, s.value_hash, s.label, p_reason, p_until, 'system:fraud', p_assessment, at
    FROM unnest(p_subjects, p_hashes, p_labels) AS s(subject, value_hash, label)
   WHERE NOT EXISTS (SELECT 1 FROM fraud_blocks b
                      WHERE b.value_hash = s.value_hash AND b.lifted_at IS NULL AND b.until >= p_until);
  GET DIAGNOSTICS added = ROW_COUNT;
  RETURN added;
END $$;
REVOKE ALL ON FUNCTION fraud_auto_block(uuid, text[], text[], text[], text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fraud_auto_block(uuid, text[], text[], text[], text, timestamptz) TO clutch_app;
