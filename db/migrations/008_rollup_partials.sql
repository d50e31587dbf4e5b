-- Native rollups from ingest's own partial aggregates (ingest/src/rollups/partials.ts). Each mark now
-- says which ingest worker holds a partial for the vehicle-minute ('' = nobody: recompute it from the
-- samples). A worker that writes its partial deletes its own mark in the same statement; a mark whose
-- worker never came back is recomputed from the samples by refreshRollups. TimescaleDB storage
-- (migration 007) has no such table: continuous aggregates replace it.
DO $$
BEGIN
  IF to_regclass('public.rollup_dirty') IS NOT NULL THEN
    ALTER TABLE rollup_dirty ADD COLUMN worker text NOT NULL DEFAULT '';
    ALTER TABLE rollup_dirty DROP CONSTRAINT rollup_dirty_pkey;
    ALTER TABLE rollup_dirty ADD PRIMARY KEY (vehicle_id, minute, worker);
  END IF;
END
$$;
