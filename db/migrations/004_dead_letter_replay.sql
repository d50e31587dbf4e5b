-- Dead-letter replay bookkeeping for POST /api/dead-letters/{id}/replay. A letter that ingest stored
-- on replay is marked replayed (kept for audit, never replayed twice); a failed attempt records its
-- reason. dead_letters already has row-level security, and the new columns fall under its policy.
ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz;
ALTER TABLE dead_letters ADD COLUMN replay_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN last_replay_error text;
