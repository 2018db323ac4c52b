-- Scheduler schema version 9: retention. Finished jobs and workflows are deleted some time after they end, in small
-- batches, oldest first; these indexes make finding a batch cheap however many rows the tables hold.
-- workflow_id: the job's workflow (canonical lower-case GUID) for a workflow's job, NULL for other jobs and in rows
--              written before version 9. A workflow's jobs are deleted with their workflow, never on their own.
-- ix_scheduler_jobs_finished:      standalone finished jobs (3 Succeeded, 4 Failed, 5 Cancelled) by state and age.
--                                  Partial: open jobs and workflows' jobs are not in it.
-- ix_scheduler_jobs_workflow:      a workflow's jobs, deleted together with it.
-- ix_scheduler_workflows_finished: finished workflows (3 Succeeded, 4 Failed, 5 Cancelled) by state and age.
-- SQLite has no ADD COLUMN IF NOT EXISTS; the migrator runs this script once, in the transaction that records
-- version 9 (the indexes are IF NOT EXISTS all the same).
ALTER TABLE scheduler_jobs ADD COLUMN workflow_id varchar(36) NULL;

CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_finished
    ON scheduler_jobs (service_id, state, updated_at)
    WHERE state IN (3, 4, 5) AND workflow_id IS NULL;

CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_workflow
    ON scheduler_jobs (service_id, workflow_id)
    WHERE workflow_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_scheduler_workflows_finished
    ON scheduler_workflows (service_id, state, updated_at)
    WHERE state IN (3, 4, 5);
