-- requires: timescaledb
-- TimescaleDB storage, applied only where the extension is installed or preloaded (see
-- migrate.ts). Samples become a hypertable of daily chunks, compressed after a week; the 1-minute
-- and 1-hour rollups become real-time continuous aggregates, so ingest stops maintaining them.
--
-- Tenant isolation: TimescaleDB refuses compression on a hypertable with row-level security
-- (timescale/timescaledb#6827) and continuous aggregates have none, and a hypertable's chunks would
-- not inherit its policies anyway (#7830). So the application role gets no privilege on these three
-- relations (nor, therefore, on their chunks) and reads them through security-barrier views in the
-- `clutch_tenant` schema that keep only the current tenant's rows. Tenant-scoped transactions put
-- that schema first on their search_path (db/src/tenant-scope.ts), so the same SQL reads the views
-- there and the tables, under row-level security, everywhere else.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- A partitioned table cannot become a hypertable: build the hypertable, move the rows, swap names.
CREATE TABLE samples_hypertable (LIKE samples INCLUDING DEFAULTS);
ALTER TABLE samples_hypertable ADD PRIMARY KEY (vehicle_id, time, signal_id);
-- The primary key (the same order as native storage's, migration 009) serves every read: a vehicle,
-- then a time range; a separate time index would only slow ingest down.
SELECT create_hypertable('samples_hypertable', 'time', chunk_time_interval => INTERVAL '1 day', create_default_indexes => false);
INSERT INTO samples_hypertable (time, tenant_id, vehicle_id, signal_id, value)
  SELECT time, tenant_id, vehicle_id, signal_id, value FROM samples;
DROP TABLE samples;
DROP FUNCTION clutch_ensure_sample_partitions(timestamptz, timestamptz);
ALTER TABLE samples_hypertable RENAME TO samples;

-- Segments of one vehicle's signal, ordered by time: the shape every read asks for. The primary key's
-- columns are all segment-by or order-by columns, as compression of a table with a unique key needs.
ALTER TABLE samples SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'vehicle_id, signal_id',
  timescaledb.compress_orderby = 'time'
);
SELECT add_compression_policy('samples', INTERVAL '7 days');

-- The rollups ingest maintained give way to continuous aggregates of the same name and columns.
DROP VIEW sample_rollups_1h;
DROP TABLE sample_rollups_1m;
DROP TABLE rollup_dirty;

-- Real-time (materialized_only = false): buckets not yet materialized are computed from the raw
-- samples at query time, so a chart is never behind ingest. WITH NO DATA lets this run inside the
-- migration's transaction; the policies materialize.
CREATE MATERIALIZED VIEW sample_rollups_1m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, tenant_id, vehicle_id, signal_id,
         count(*) AS n, sum(value) AS sum, min(value) AS min, max(value) AS max
  FROM samples
  GROUP BY time_bucket(INTERVAL '1 minute', time), tenant_id, vehicle_id, signal_id
  WITH NO DATA;

-- Hours from minutes (a hierarchical aggregate, TimescaleDB 2.9+): 60 rows per bucket at most.
CREATE MATERIALIZED VIEW sample_rollups_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, tenant_id, vehicle_id, signal_id,
         sum(n)::bigint AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
  FROM sample_rollups_1m
  GROUP BY time_bucket(INTERVAL '1 hour', bucket), tenant_id, vehicle_id, signal_id
  WITH NO DATA;

-- No start offset: late store-and-forward uploads (days old) invalidate old buckets, and the refresh
-- only recomputes invalidated ranges, so reaching back to the first sample costs nothing extra.
SELECT add_continuous_aggregate_policy('sample_rollups_1m',
  start_offset => NULL, end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('sample_rollups_1h',
  start_offset => NULL, end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');

CREATE SCHEMA clutch_tenant;
CREATE VIEW clutch_tenant.samples WITH (security_barrier) AS
  SELECT time, tenant_id, vehicle_id, signal_id, value FROM public.samples
  WHERE tenant_id = current_setting('app.tenant_id', true);
CREATE VIEW clutch_tenant.sample_rollups_1m WITH (security_barrier) AS
  SELECT bucket, tenant_id, vehicle_id, signal_id, n::integer AS n, sum, min, max FROM public.sample_rollups_1m
  WHERE tenant_id = current_setting('app.tenant_id', true);
CREATE VIEW clutch_tenant.sample_rollups_1h WITH (security_barrier) AS
  SELECT bucket, tenant_id, vehicle_id, signal_id, n::integer AS n, sum, min, max FROM public.sample_rollups_1h
  WHERE tenant_id = current_setting('app.tenant_id', true);
GRANT USAGE ON SCHEMA clutch_tenant TO clutch_app;
GRANT SELECT ON clutch_tenant.samples, clutch_tenant.sample_rollups_1m, clutch_tenant.sample_rollups_1h TO clutch_app;
