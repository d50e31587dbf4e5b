-- Rollups, trouble codes, GPS fixes, downlink commands, alerts, and per-tenant retention.

-- Ingest-maintained rollups (PGlite and plain PostgreSQL have no continuous aggregates). The ingest
-- transaction that stores new samples marks their (vehicle, minute) dirty; a refresh job recomputes
-- dirty minutes from the samples themselves (replacing, never adding), so redelivery, late samples
-- and crashes can never make a rollup disagree with the raw data (ingest/src/rollups/refresh.ts).
CREATE TABLE sample_rollups_1m (
  bucket timestamptz NOT NULL,
  tenant_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  signal_id smallint NOT NULL,
  n integer NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  PRIMARY KEY (vehicle_id, signal_id, bucket)
);

CREATE TABLE rollup_dirty (
  vehicle_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  PRIMARY KEY (vehicle_id, minute)
);

-- Hours from minutes: 60 rows per bucket at most. security_invoker keeps row-level security in force.
CREATE VIEW sample_rollups_1h WITH (security_invoker = true) AS
  SELECT date_trunc('hour', bucket) AS bucket, tenant_id, vehicle_id, signal_id,
         sum(n)::integer AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
  FROM sample_rollups_1m
  GROUP BY 1, 2, 3, 4;

-- Trouble codes as reported by the agent (Modes 03/07/0A); one row per code per report time.
CREATE TABLE dtc_events (
  id bigserial PRIMARY KEY,
  time timestamptz NOT NULL,
  tenant_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[PCBU][0-3][0-9A-F]{3}$'),
  kind text NOT NULL CHECK (kind IN ('stored', 'pending', 'permanent')),
  ecu text,
  UNIQUE (vehicle_id, time, code, kind)
);
CREATE INDEX dtc_events_vehicle_idx ON dtc_events (vehicle_id, time DESC);

-- GPS fixes from `/location` and POST /api/telematics/gps.
CREATE TABLE locations (
  time timestamptz NOT NULL,
  tenant_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  alt_m double precision,
  speed_kmh double precision,
  heading_deg double precision,
  hdop double precision,
  satellites integer,
  PRIMARY KEY (vehicle_id, time)
);

-- Downlink commands: the API creates them, the broker delivers, the agent answers on /cmd/{id}/result.
CREATE TABLE device_commands (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  device_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  type text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'succeeded', 'failed', 'timed_out')),
  result jsonb,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  completed_at timestamptz,
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);
CREATE INDEX device_commands_vehicle_idx ON device_commands (vehicle_id, created_at DESC);

-- Alerts raised by scoring in ingest (ML anomaly score and health checks).
CREATE TABLE alerts (
  id bigserial PRIMARY KEY,
  time timestamptz NOT NULL,
  tenant_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  kind text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  title text NOT NULL,
  explanation text NOT NULL,
  signals text[] NOT NULL DEFAULT '{}',
  details jsonb NOT NULL DEFAULT '{}',
  model_version text,
  acknowledged_at timestamptz
);
CREATE INDEX alerts_vehicle_idx ON alerts (vehicle_id, time DESC);

-- How long raw samples are kept; rollups are kept 10x longer. NULL = platform default.
ALTER TABLE tenants ADD COLUMN sample_retention_days integer CHECK (sample_retention_days BETWEEN 1 AND 3650);

ALTER TABLE sample_rollups_1m ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtc_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sample_rollups_1m USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON dtc_events USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON locations USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON device_commands USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON alerts USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON sample_rollups_1m, sample_rollups_1h, dtc_events, locations, device_commands, alerts TO clutch_app;
GRANT USAGE ON SEQUENCE dtc_events_id_seq, alerts_id_seq TO clutch_app;
