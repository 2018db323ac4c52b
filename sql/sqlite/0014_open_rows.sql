-- Scheduler schema version 14: no index of scheduler_jobs holds state or updated_at (on PostgreSQL this makes a
-- job's start an update in place; see sql/postgresql/0014_open_rows.sql). The indexes that must tell open from
-- finished jobs use two generated columns, NULL while a job is Queued or Running, so the SQL both vendors share
-- finds the same indexes:
-- ended_state: the state once final (3 Succeeded, 4 Failed, 5 Cancelled), NULL while open.
-- ended_at:    updated_at once final, NULL while open.
-- Virtual (computed when read, indexed like any column): SQLite adds only virtual generated columns to a table.
-- SQLite has no ADD COLUMN IF NOT EXISTS; the migrator runs this script once, in the transaction that records
-- version 14 (the indexes are IF NOT EXISTS all the same). Each index build reads the table once.
ALTER TABLE scheduler_jobs ADD COLUMN ended_state integer
    GENERATED ALWAYS AS (CASE WHEN state IN (3, 4, 5) THEN state END) VIRTUAL;
ALTER TABLE scheduler_jobs ADD COLUMN ended_at bigint
    GENERATED ALWAYS AS (CASE WHEN state IN (3, 4, 5) THEN updated_at END) VIRTUAL;

CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_unended
    ON scheduler_jobs (service_id, queue, shard, priority DESC, created_at)
    WHERE ended_state IS NULL;
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_unended_created
    ON scheduler_jobs (service_id, created_at DESC, job_id DESC)
    WHERE ended_state IS NULL;
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_ended_created
    ON scheduler_jobs (service_id, ended_state, created_at DESC, job_id DESC)
    WHERE ended_state IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_ended
    ON scheduler_jobs (service_id, ended_state, ended_at)
    WHERE ended_state IS NOT NULL AND workflow_id IS NULL;

DROP INDEX IF EXISTS ix_scheduler_jobs_open;
DROP INDEX IF EXISTS ix_scheduler_jobs_state_created;
DROP INDEX IF EXISTS ix_scheduler_jobs_finished;
