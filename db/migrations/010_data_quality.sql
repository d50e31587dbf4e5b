-- Data-quality findings about what devices sent (not vehicle faults): a gap in a device's batch
-- sequence (a batch that never arrived), a sample repeated with the same time but a different value,
-- and other losses ingest can see. The API lists them per vehicle, so a loss is never silent.
CREATE TABLE data_quality_events (
  id bigserial PRIMARY KEY,
  detected_at timestamptz NOT NULL DEFAULT now(),
  tenant_id text NOT NULL,
  device_id text NOT NULL,
  vehicle_id uuid,
  kind text NOT NULL CHECK (kind IN ('seq_gap', 'conflicting_duplicate', 'seq_reset')),
  -- Kind-specific figures: {from, to} for a gap, {signal, time, stored, received} for a duplicate.
  detail jsonb NOT NULL DEFAULT '{}',
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);
CREATE INDEX data_quality_events_vehicle_idx ON data_quality_events (vehicle_id, detected_at DESC);

ALTER TABLE data_quality_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON data_quality_events USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT ON data_quality_events TO clutch_app;
GRANT USAGE ON SEQUENCE data_quality_events_id_seq TO clutch_app;
