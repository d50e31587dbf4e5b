-- Model retrains requested through the API (POST /api/ai/models/:id/retrain) and run by a job worker
-- (queue `ai.retrain`, api/src/ai/retrain-jobs.ts), possibly in another process: this row is what
-- GET /api/ai/jobs/:id reads, so a job's progress and result survive a restart of either side.
-- Platform data, not tenant data (the model registry is platform-wide and only admins retrain):
-- no tenant_id, and clutch_app gets no grant.
CREATE TABLE ai_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL,
  -- The model whose lineage the retrain continues.
  subject text NOT NULL,
  -- queued (enqueued, no worker yet) -> running -> succeeded | failed. The API shows queued as running.
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- { seed, epochs } as requested.
  request jsonb NOT NULL DEFAULT '{}',
  -- The latest progress lines, oldest first.
  progress jsonb NOT NULL DEFAULT '[]',
  result jsonb,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- The worker's heartbeat: a queued or running job not touched for long is given up as failed.
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);

-- One active job per kind across the cluster (each retrain trains on every core it has): a second
-- request conflicts here and is answered RETRAIN_RUNNING.
CREATE UNIQUE INDEX ai_jobs_one_active_idx ON ai_jobs (kind) WHERE status IN ('queued', 'running');
