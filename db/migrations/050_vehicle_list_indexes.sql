-- Indexes shaped like the vehicle list's predicates (issue 13, GET /api/vehicles; docs/benchmarks.md).
--
-- Each listed vehicle's devices are read by `dv.vehicle_id = v.id AND dv.tenant_id = v.tenant_id`
-- (api/src/vehicles/repository.ts). With only devices (vehicle_id) and the primary key
-- (tenant_id, id) to choose from, PostgreSQL without fresh statistics (a newly seeded or newly
-- grown tenant, before autovacuum's first ANALYZE) ANDed both bitmaps: for every vehicle of the
-- page it walked the primary key over all the tenant's devices (1,431 index entries per vehicle
-- for 1,000 devices with ingest's updates). One index on both columns answers the predicate
-- whatever the statistics say. It starts with vehicle_id, so it replaces devices_vehicle_idx for
-- every lookup by vehicle.
CREATE INDEX devices_vehicle_tenant_idx ON devices (vehicle_id, tenant_id);
DROP INDEX devices_vehicle_idx;

-- The list's order within a tenant, for the keyset cursor: a later page reads the rows after the
-- cursor (`(name, id) > (...)`) instead of every vehicle of the tenant. It starts with tenant_id,
-- so it replaces vehicles_tenant_idx.
CREATE INDEX vehicles_tenant_name_idx ON vehicles (tenant_id, name, id);
DROP INDEX vehicles_tenant_idx;
