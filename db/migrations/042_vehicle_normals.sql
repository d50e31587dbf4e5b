-- Each vehicle's own normal (issue 19, docs/ml.md): what the online scorer learned about this car
-- (operating ranges per regime, warm-up, resolution per signal, the anomaly model's per-vehicle
-- threshold), so a restart or a model deploy does not start every car's calibration again. One row
-- per vehicle, written by ingest's scoring consumer (ingest/src/normals/repository.ts) every minute
-- and on stop, and by an import that seeds the normal from a vehicle's history.
CREATE TABLE vehicle_normals (
  vehicle_id uuid PRIMARY KEY REFERENCES vehicles (id) ON DELETE CASCADE,
  tenant_id text NOT NULL REFERENCES tenants (id),
  -- The VehicleNormal as JSON (@clutch/ml parseVehicleNormal validates it when read back).
  state jsonb NOT NULL CHECK (jsonb_typeof(state) = 'object'),
  -- Copied out of the state when it is written, so a fleet's calibration is one query away.
  status text NOT NULL CHECK (status IN ('calibrating', 'calibrated')),
  running_hours double precision NOT NULL CHECK (running_hours >= 0),
  trips integer NOT NULL CHECK (trips >= 0),
  -- The scoring model in use when it was written (null: written by an import, not by scoring).
  model_version text,
  -- Raised by every write. Scoring writes only over the revision it read or wrote last, so an
  -- import's normal written meanwhile (another process) is read back, not overwritten.
  revision bigint NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicle_normals_tenant_idx ON vehicle_normals (tenant_id, status);

ALTER TABLE vehicle_normals ENABLE ROW LEVEL SECURITY;
ALTER TABLE vehicle_normals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON vehicle_normals USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON vehicle_normals TO clutch_system USING (true) WITH CHECK (true);
-- A vehicle shared for telemetry:read shows its calibration with its health, as its alerts (029).
CREATE POLICY shared_access ON vehicle_normals FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('telemetry:read'))::uuid[]));
-- The API reads it (vehicle health) and an upload seeds it in the tenant's scope.
GRANT SELECT, INSERT, UPDATE ON vehicle_normals TO clutch_app;
