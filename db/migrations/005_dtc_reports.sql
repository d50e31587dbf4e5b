-- One row per trouble-code report, with or without codes: a report with no codes is how a car says its
-- codes are gone (repaired, or cleared with a scan tool), which dtc_events alone cannot show.
CREATE TABLE dtc_reports (
  vehicle_id uuid NOT NULL,
  time timestamptz NOT NULL,
  tenant_id text NOT NULL,
  code_count integer NOT NULL CHECK (code_count >= 0),
  PRIMARY KEY (vehicle_id, time)
);

ALTER TABLE dtc_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dtc_reports USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON dtc_reports TO clutch_app;
