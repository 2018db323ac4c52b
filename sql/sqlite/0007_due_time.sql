-- Scheduler schema version 7: a job row holds its due time, so listings show when a delayed job (or a retry) starts,
-- and a queue shard that reloads its open jobs leaves out those due far ahead (their job grains' reminders bring them
-- when due).
-- not_before: UTC ticks (see 0002) before which the job does not start, while it is Queued with a due time (a delayed
--             job, or a retry delay); NULL otherwise, and in rows written before version 7.
-- No index: a shard finds its open rows with ix_scheduler_jobs_open and filters the few delayed ones among them.
-- SQLite has no ADD COLUMN IF NOT EXISTS; the migrator runs this script once, in the transaction that records
-- version 7.
ALTER TABLE scheduler_jobs ADD COLUMN not_before bigint NULL;
