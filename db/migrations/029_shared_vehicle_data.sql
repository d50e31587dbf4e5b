-- A shared vehicle's stored data under row-level security (issue 14; issue 15's time-boxed grant to
-- a shop needs it).
--
-- Migration 023 opened only the vehicle row to the grantee of a share (vehicle_shares). Its data
-- stays stored under the owner's tenant; here each table of a vehicle's data gets a `shared_access`
-- policy TO clutch_app that admits the rows of vehicles shared right now with the transaction's
-- tenant (or its user in person) FOR THE PERMISSION THAT TABLE SERVES:
--
--   samples, sample_rollups_1m (and the 1h view over it), alerts, data_quality_events  telemetry:read
--   dtc_events, dtc_reports                                                            dtc:read
--   locations                                                                          location:read
--   device_commands                                                                    commands:write
--     (its clear_dtcs commands also with dtc:read: they say which codes are current)
--   devices (the vehicle's device ids, presence, where a command goes)                 any shared permission
--
-- devices follow the vehicle row itself (any share opens that row, 023): they are part of the
-- vehicle's details, and a command needs them; what a grantee may read of them is still decided by
-- the policy function on the vehicle (GET /api/vehicles/:id needs vehicles:read on it).
-- rollup_dirty already follows the vehicles policy (009). Permissive policies are OR'ed with
-- tenant_isolation: the owner's side is unchanged.
--
-- The set of shared vehicles is computed once per statement: `(SELECT rbac_vehicles_shared_for(...))`
-- is an init plan, so a read keeps its index (the query's own `vehicle_id = $1` drives the scan, the
-- policy is a filter on the rows found). When a share ends (revoked, or valid_until passed) the next
-- statement no longer sees the rows: nothing is cached.
--
-- A shop's command to a shared vehicle belongs to the vehicle's (owner's) tenant: the device and its
-- broker topic are the owner's. The insert passes row-level security through a narrow INSERT policy,
-- not through an unconfined system scope: the grantee's request stays in its own confined
-- transaction, and the database itself refuses a command row for a vehicle not shared for
-- commands:write, or naming a device of another vehicle. The same request marks the command sent
-- (or failed, or timed out on a later read) and appends its `command` event to the outbox under the
-- owner's tenant (so the owner's rooms hear it): an UPDATE policy, and an INSERT (and RETURNING's
-- SELECT) policy on outbox_events limited to the `vehicle.command` event of such a command.

-- Vehicles shared, right now, with the transaction's tenant (or with its user in person) for one
-- permission. The sibling of rbac_shared_vehicle_ids() (023), which answers for any permission.
-- SECURITY DEFINER: it reads vehicle_shares as the platform, so a policy calling it does not recurse
-- into vehicle_shares' own policies.
CREATE FUNCTION rbac_vehicles_shared_for(permission text) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(s.vehicle_id), '{}')
    FROM vehicle_shares s
    JOIN tenants t ON t.id = s.grantee_tenant_id
   WHERE s.grantee_tenant_id = current_setting('app.tenant_id', true)
     AND s.revoked_at IS NULL AND s.valid_from <= now() AND s.valid_until > now()
     AND permission = ANY (s.permissions)
     AND (s.grantee_user_id = nullif(current_setting('app.user_id', true), '')::uuid
          OR (s.grantee_user_id IS NULL AND t.kind <> 'consumer'))
$$;
REVOKE ALL ON FUNCTION rbac_vehicles_shared_for(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rbac_vehicles_shared_for(text) TO clutch_app;

CREATE POLICY shared_access ON devices FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_shared_vehicle_ids())::uuid[]));
CREATE POLICY shared_access ON alerts FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('telemetry:read'))::uuid[]));
CREATE POLICY shared_access ON data_quality_events FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('telemetry:read'))::uuid[]));
CREATE POLICY shared_access ON dtc_events FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('dtc:read'))::uuid[]));
CREATE POLICY shared_access ON dtc_reports FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('dtc:read'))::uuid[]));
CREATE POLICY shared_access ON locations FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('location:read'))::uuid[]));

CREATE POLICY shared_access ON device_commands FOR SELECT TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('commands:write'))::uuid[]));
-- When the codes were last cleared is trouble-code history: the current codes are those reported
-- after the last clear_dtcs that succeeded (api/src/diagnostics), so a dtc:read share shows those
-- commands too (and nothing else of device_commands).
CREATE POLICY shared_dtc_clears ON device_commands FOR SELECT TO clutch_app
  USING (type = 'clear_dtcs' AND vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('dtc:read'))::uuid[]));
-- The device must be the vehicle's own (the foreign key only says it exists in the row's tenant).
CREATE POLICY shared_insert ON device_commands FOR INSERT TO clutch_app
  WITH CHECK (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('commands:write'))::uuid[])
              AND EXISTS (SELECT 1 FROM devices d
                           WHERE d.tenant_id = device_commands.tenant_id AND d.id = device_commands.device_id
                             AND d.vehicle_id = device_commands.vehicle_id));
CREATE POLICY shared_update ON device_commands FOR UPDATE TO clutch_app
  USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('commands:write'))::uuid[]))
  WITH CHECK (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('commands:write'))::uuid[]));

-- The `command` event of a command the transaction can see through a commands:write share, under
-- that command's tenant and naming its vehicle. A malformed commandId matches nothing (no cast error).
CREATE FUNCTION clutch_shared_command_event(event_tenant text, event_topic text, event_payload jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT event_topic = 'vehicle.command'
     AND event_payload->>'commandId' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     AND EXISTS (SELECT 1 FROM device_commands c
                  WHERE c.id = (CASE WHEN event_payload->>'commandId' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                     THEN (event_payload->>'commandId')::uuid END)
                    AND c.tenant_id = event_tenant
                    AND c.vehicle_id::text = event_payload->>'vehicleId'
                    AND c.vehicle_id = ANY (rbac_vehicles_shared_for('commands:write')))
$$;
GRANT EXECUTE ON FUNCTION clutch_shared_command_event(text, text, jsonb) TO clutch_app;
CREATE POLICY shared_command_event ON outbox_events FOR INSERT TO clutch_app
  WITH CHECK (clutch_shared_command_event(tenant_id, topic, payload));
CREATE POLICY shared_command_event_returning ON outbox_events FOR SELECT TO clutch_app
  USING (topic = 'vehicle.command' AND clutch_shared_command_event(tenant_id, topic, payload));

-- Telemetry: native storage keeps samples and the 1-minute rollups as tables under row-level
-- security (samples enabled, not forced: ingest COPYs into it as the owner; a policy TO clutch_app
-- applies to clutch_app all the same). The 1-hour rollup is a security_invoker view over the
-- 1-minute table and needs nothing. Under TimescaleDB (007) they are a hypertable and continuous
-- aggregates without row-level security, read through the clutch_tenant views: those get the same
-- clause.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_class WHERE oid = 'public.samples'::regclass AND relrowsecurity) THEN
    CREATE POLICY shared_access ON samples FOR SELECT TO clutch_app
      USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('telemetry:read'))::uuid[]));
  END IF;
  IF EXISTS (SELECT FROM pg_class WHERE oid = 'public.sample_rollups_1m'::regclass AND relrowsecurity) THEN
    CREATE POLICY shared_access ON sample_rollups_1m FOR SELECT TO clutch_app
      USING (vehicle_id = ANY ((SELECT rbac_vehicles_shared_for('telemetry:read'))::uuid[]));
  END IF;
  IF to_regclass('clutch_tenant.samples') IS NOT NULL THEN
    CREATE OR REPLACE VIEW clutch_tenant.samples WITH (security_barrier) AS
      SELECT time, tenant_id, vehicle_id, signal_id, value FROM public.samples
      WHERE tenant_id = current_setting('app.tenant_id', true)
         OR vehicle_id = ANY ((SELECT public.rbac_vehicles_shared_for('telemetry:read'))::uuid[]);
    CREATE OR REPLACE VIEW clutch_tenant.sample_rollups_1m WITH (security_barrier) AS
      SELECT bucket, tenant_id, vehicle_id, signal_id, n::integer AS n, sum, min, max FROM public.sample_rollups_1m
      WHERE tenant_id = current_setting('app.tenant_id', true)
         OR vehicle_id = ANY ((SELECT public.rbac_vehicles_shared_for('telemetry:read'))::uuid[]);
    CREATE OR REPLACE VIEW clutch_tenant.sample_rollups_1h WITH (security_barrier) AS
      SELECT bucket, tenant_id, vehicle_id, signal_id, n::integer AS n, sum, min, max FROM public.sample_rollups_1h
      WHERE tenant_id = current_setting('app.tenant_id', true)
         OR vehicle_id = ANY ((SELECT public.rbac_vehicles_shared_for('telemetry:read'))::uuid[]);
  END IF;
END
$$;
