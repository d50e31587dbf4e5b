-- Ingest workers that hold in-memory minute sums (ingest/src/rollups/partials.ts), with a heartbeat,
-- so a dead worker's marked minutes are recomputed within seconds instead of after the 10-minute
-- orphan age. A worker silent for longer than the dead-after time (15 s) is fenced (`fenced_at`) by
-- the next rollup refresh: from then on its flushes add nothing (they check `fenced_at` under a row
-- lock in the same statement), and its marks are recomputed from the samples. A worker that stops
-- cleanly fences itself after its last flush. Workers never registered here (tools, tests) keep the
-- 10-minute orphan age. See docs/storage.md#rollups.
CREATE TABLE ingest_workers (
  id text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  fenced_at timestamptz
);
