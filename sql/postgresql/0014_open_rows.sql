-- Scheduler schema version 14: a job's start is a heap-only (HOT) update. PostgreSQL updates a row in place on its
-- page, without a new entry in any index, when no indexed column and no column of an index's predicate changes
-- value. Until version 13, state and updated_at were in four indexes, so each of a job's three writes added an entry
-- to every index. From version 14 no index of scheduler_jobs holds state or updated_at; the indexes that must tell
-- open from finished jobs use two generated columns instead, which stay NULL while a job is Queued or Running:
-- ended_state: the state once final (3 Succeeded, 4 Failed, 5 Cancelled), NULL while open.
-- ended_at:    updated_at once final, NULL while open.
-- ix_scheduler_jobs_unended:         open jobs of one queue shard, what a shard reloads (was ix_scheduler_jobs_open).
-- ix_scheduler_jobs_unended_created: open jobs newest first: Queued listings (Running ones are served from the
--                                    silos' running attempts, then read by key).
-- ix_scheduler_jobs_ended_created:   finished jobs by state, newest first (was ix_scheduler_jobs_state_created).
-- ix_scheduler_jobs_ended:           standalone finished jobs by state and age, for retention (was
--                                    ix_scheduler_jobs_finished).
-- fillfactor 50: half of each new page is left free, so a row's updated version fits on its page (a HOT update needs
-- that). Pages written before this script keep their fill until rewritten.
-- Idempotent. Adding a stored generated column rewrites the table, holding an exclusive lock on it meanwhile (reads
-- and writes of jobs wait), and each index build reads it once: on a large installation, run this script in a
-- maintenance window before upgrading. Old silos (version 13) can go on writing to the migrated table, but their
-- listings and retention no longer find an index: upgrade every silo.
ALTER TABLE scheduler_jobs ADD COLUMN IF NOT EXISTS ended_state integer
    GENERATED ALWAYS AS (CASE WHEN state IN (3, 4, 5) THEN state END) STORED;
ALTER TABLE scheduler_jobs ADD COLUMN IF NOT EXISTS ended_at bigint
    GENERATED ALWAYS AS (CASE WHEN state IN (3, 4, 5) THEN updated_at END) STORED;
ALTER TABLE scheduler_jobs SET (fillfactor = 50);

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
