-- Scheduler schema version 15: the status history has one index instead of two. Its rows were keyed by seq alone
-- (an index nothing reads by) besides ix_scheduler_job_history_job (service_id, job_id, seq), which every read and
-- delete of a job's history uses; each history row added an entry to both. The primary key is now
-- (service_id, job_id, seq), built once here, and the two old indexes are dropped: an index entry less per
-- transition. seq stays an identity column (the order of a job's transitions).
-- From this version a job's first transition (Queued, at its creation) is not stored either: it is read from the
-- job row (SqlJobStore.ReadHistoryAsync); rows written before are read as they were.
-- Idempotent. Building the unique index reads the table once and blocks writes to it meanwhile: on a large
-- installation, run this script in a maintenance window before upgrading.
CREATE UNIQUE INDEX IF NOT EXISTS pk_scheduler_job_history ON scheduler_job_history (service_id, job_id, seq);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'pk_scheduler_job_history') THEN
        ALTER TABLE scheduler_job_history DROP CONSTRAINT IF EXISTS scheduler_job_history_pkey;
        ALTER TABLE scheduler_job_history ADD CONSTRAINT pk_scheduler_job_history PRIMARY KEY USING INDEX pk_scheduler_job_history;
    END IF;
END $$;
DROP INDEX IF EXISTS ix_scheduler_job_history_job;

-- The job table's index of all rows by creation goes: a listing without a state, queue, tenant or handler reads the
-- open rows' index (ix_scheduler_jobs_unended_created) and the finished rows' one (ix_scheduler_jobs_ended_created)
-- per final state instead, newest first, and takes the newest of those. Two index entries less per job (its insert
-- and its end).
DROP INDEX IF EXISTS ix_scheduler_jobs_created;
