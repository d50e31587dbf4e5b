-- Samples keyed (vehicle, time, signal) instead of (vehicle, signal, time).
--
-- A connected car sends all its signals for one instant together. Under the old key each of a
-- car's ~20 signals had its own insertion point in the index, so a second of a 10,000-car fleet
-- touched 200,000 leaf pages; under this key it touches one page per car. Measured on PostgreSQL 15
-- at 200,000 rows/s: the old key's cost per second of data doubled within two minutes as the
-- index grew, the new key's stayed flat (bench/src/ingest, docs/storage.md).
--
-- Reads of one signal still use the key: vehicle, then a time range, with the signal checked inside
-- the index. "Latest value per signal" no longer probes the key per signal; see
-- api/src/telemetry/repository.ts and clutch_unrolled_since below.
--
-- Idempotency is unchanged (the same three columns are unique). On TimescaleDB, migration 007
-- builds the hypertable with this key already, and this block leaves it alone.
DO $$
DECLARE
  key_columns text;
  key_name text;
BEGIN
  SELECT string_agg(a.attname, ',' ORDER BY k.ord), min(c.conname) INTO key_columns, key_name
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
   WHERE c.conrelid = 'public.samples'::regclass AND c.contype = 'p';
  IF key_columns IS DISTINCT FROM 'vehicle_id,time,signal_id' THEN
    IF key_name IS NOT NULL THEN
      EXECUTE format('ALTER TABLE public.samples DROP CONSTRAINT %I', key_name);
    END IF;
    ALTER TABLE public.samples ADD PRIMARY KEY (vehicle_id, time, signal_id);
  END IF;
END
$$;

-- Where ingest keeps the rollups (native storage), every stored minute of a vehicle is either summed
-- in sample_rollups_1m or still marked in rollup_dirty (the mark is written in the samples'
-- transaction). This returns the oldest minute not yet summed, or NULL when all are: readers take
-- raw samples from there on and rollups before. Where TimescaleDB keeps them (real-time continuous
-- aggregates, no rollup_dirty) every sample is already covered, so NULL as well.
CREATE FUNCTION clutch_unrolled_since(vehicle uuid) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
  since timestamptz;
BEGIN
  IF to_regclass('public.rollup_dirty') IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT min(minute) FROM public.rollup_dirty WHERE vehicle_id = $1' INTO since USING vehicle;
  RETURN since;
END
$$;
GRANT EXECUTE ON FUNCTION clutch_unrolled_since(uuid) TO clutch_app;

-- The application role reads marks only of vehicles its tenant can see (vehicles' own policy applies
-- inside this one).
DO $$
BEGIN
  IF to_regclass('public.rollup_dirty') IS NOT NULL THEN
    ALTER TABLE rollup_dirty ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON rollup_dirty USING (EXISTS (SELECT 1 FROM vehicles v WHERE v.id = rollup_dirty.vehicle_id));
    GRANT SELECT ON rollup_dirty TO clutch_app;
  END IF;
END
$$;
