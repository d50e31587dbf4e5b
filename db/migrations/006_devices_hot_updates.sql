-- Devices' last_seen_at / last_seq are rewritten every few seconds per connected car. Free space in
-- each page lets PostgreSQL make those HOT updates (no new index entries, no index bloat).
ALTER TABLE devices SET (fillfactor = 70);
