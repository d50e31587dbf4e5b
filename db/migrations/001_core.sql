-- Core schema: tenants, vehicles, devices, the signal vocabulary, time-series samples, dead letters.
-- Tenant-owned tables carry tenant_id and are guarded by row-level security; the platform's own
-- processes (ingest, migrations) run as the owner and bypass it, API requests for a tenant run as
-- clutch_app with app.tenant_id set (db/src/tenant-scope.ts).

DO $$
BEGIN
  -- Roles are per cluster: another database on this server (or a DBA) may have created it. Checked
  -- first, as CREATE ROLE without CREATEROLE fails on privileges before it sees the role exists.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clutch_app') THEN
    CREATE ROLE clutch_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created at the same moment by a migration of another database
END
$$;

CREATE TABLE tenants (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  vin text CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
  make text,
  model text,
  model_year integer CHECK (model_year BETWEEN 1980 AND 2100),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicles_tenant_idx ON vehicles (tenant_id);

-- A gateway (Pi + ELM327) publishing for one vehicle. The id is the MQTT topic segment.
CREATE TABLE devices (
  tenant_id text NOT NULL REFERENCES tenants (id),
  id text NOT NULL CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id),
  last_seq bigint,
  last_seen_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX devices_vehicle_idx ON devices (vehicle_id);

-- Filled from the contracts catalogue at start (ids are stable; see contracts/signal-catalogue.json).
CREATE TABLE signals (
  id smallint PRIMARY KEY,
  key text NOT NULL UNIQUE,
  name text NOT NULL,
  unit text NOT NULL,
  min_value double precision NOT NULL,
  max_value double precision NOT NULL
);

-- Narrow time-series table, partitioned by month. The primary key makes redelivery idempotent.
CREATE TABLE samples (
  time timestamptz NOT NULL,
  tenant_id text NOT NULL,
  vehicle_id uuid NOT NULL,
  signal_id smallint NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (vehicle_id, signal_id, time)
) PARTITION BY RANGE (time);

-- Catches samples outside the prepared months (clock errors, very late uploads) so none is refused.
CREATE TABLE samples_default PARTITION OF samples DEFAULT;

-- Creates the monthly partitions covering [from_time, to_time); safe to call repeatedly.
CREATE FUNCTION clutch_ensure_sample_partitions(from_time timestamptz, to_time timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month_start timestamptz := date_trunc('month', from_time);
  part_name text;
  created integer := 0;
BEGIN
  WHILE month_start < to_time LOOP
    part_name := 'samples_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
    IF to_regclass(part_name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF samples FOR VALUES FROM (%L) TO (%L)',
        part_name, month_start, month_start + interval '1 month');
      created := created + 1;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;

SELECT clutch_ensure_sample_partitions(now() - interval '1 month', now() + interval '3 months');

-- Anything ingest could not store, with the reason: listable and replayable, never silently dropped.
CREATE TABLE dead_letters (
  id bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  tenant_id text,
  device_id text,
  topic text NOT NULL,
  reason text NOT NULL,
  payload bytea NOT NULL
);
CREATE INDEX dead_letters_tenant_idx ON dead_letters (tenant_id, received_at);

ALTER TABLE vehicles ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE samples ENABLE ROW LEVEL SECURITY;
ALTER TABLE dead_letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON tenants USING (id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON vehicles USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON devices USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON samples USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON dead_letters USING (tenant_id = current_setting('app.tenant_id', true));

GRANT USAGE ON SCHEMA public TO clutch_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, vehicles, devices, samples, dead_letters TO clutch_app;
GRANT SELECT ON signals TO clutch_app;
GRANT USAGE ON SEQUENCE dead_letters_id_seq TO clutch_app;
