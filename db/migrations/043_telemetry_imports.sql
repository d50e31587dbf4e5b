-- Logs imported into a vehicle's history (issue 19 §4, docs/imports.md): Torque Pro, Car Scanner,
-- OBD Auto Doctor and carOBD CSV files, uploaded (POST /api/vehicles/:id/imports) or given to
-- `clutch import`. One row per file and vehicle: the file's SHA-256 makes a second import of the same
-- file find the first instead of storing it again (the samples themselves are idempotent as well:
-- ON CONFLICT on vehicle, signal and time). An upload waits here, with its text, for the job that
-- imports it (queue telemetry.import); the text is dropped once the import has run.
CREATE TABLE telemetry_imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  vehicle_id uuid NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
  file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
  file_name text CHECK (length(file_name) <= 255),
  file_bytes integer NOT NULL CHECK (file_bytes >= 0),
  -- The format asked for; null: detected from the header.
  format text CHECK (format IN ('torque', 'car-scanner', 'obd-auto-doctor', 'carobd')),
  via text NOT NULL CHECK (via IN ('api', 'cli')),
  -- Who asked: a user id for an upload, 'cli' for the command.
  requested_by text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- The uploaded CSV until its job has run (null afterwards, and for the CLI, which reads the file itself).
  content text,
  -- What the import did (format, rows, readings per signal, skipped columns, time range, alerts, calibration).
  summary jsonb,
  -- Why it failed: { code, detail }.
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (vehicle_id, file_sha256)
);
CREATE INDEX telemetry_imports_vehicle_idx ON telemetry_imports (tenant_id, vehicle_id, created_at DESC);

ALTER TABLE telemetry_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON telemetry_imports USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON telemetry_imports TO clutch_system USING (true) WITH CHECK (true);
-- The API records an upload and reads its status in the tenant's scope; the job worker runs as the system.
GRANT SELECT, INSERT, UPDATE ON telemetry_imports TO clutch_app;
