-- Partner API key lifecycle: an optional expiry (the key stops working at that instant, on REST and
-- MQTT, and live sessions that used it are closed then) and when it was last used, so operators can
-- find and revoke keys nobody uses. last_used_at is written at most once a minute per key (the
-- verifying query skips fresher rows), so it costs no write per request. RLS stays as in 002.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
