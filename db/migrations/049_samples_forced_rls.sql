-- Row-level security forced on samples too (issue 13), the last tenant table migration 018 left
-- unforced. 018 could not: ingest COPYed into `samples`, and PostgreSQL refuses COPY FROM into a
-- table whose row-level security applies to the copying role, which FORCE makes true of the owner.
-- Ingest now COPYs into the month's partition (samples_YYYY_MM; ingest/src/samples/repository.ts),
-- which has no row-level security of its own, and writes everything else (small batches,
-- redelivery, months without a partition) through `samples` under its policies: `system_access`
-- for the platform, `tenant_isolation` for tenant scopes. Measured on PostgreSQL 15 as a
-- non-superuser owner: COPY into the partition costs the server what COPY into the parent did;
-- staging and INSERT ... SELECT through the parent cost 25-85 % more, one INSERT over unnest'ed
-- arrays 50-130 % more (docs/benchmarks.md).
--
-- Partitions stay as 018 left them: clutch_app has no privilege on any, so tenants read samples only
-- through the parent and its policies (db/src/rls-catalogue.test.ts checks both).
--
-- Native storage only: where migration 007 made samples a TimescaleDB hypertable it has no
-- row-level security at all (TimescaleDB refuses compression with it); tenants read it through the
-- clutch_tenant views, and this leaves it alone.
DO $$
BEGIN
  IF (SELECT relrowsecurity FROM pg_class WHERE oid = 'public.samples'::regclass) THEN
    ALTER TABLE public.samples FORCE ROW LEVEL SECURITY;
  END IF;
END
$$;
