-- Scheduler schema version 5: each workflow's state in a row of its own, so that the changes of many workflows
-- commit together (as job rows do since version 4), and a workflow with jobs out is found by a watchdog instead of
-- needing a reminder of its own. Idempotent.
-- workflow_id: the workflow's GUID in canonical lower-case "d" form.
-- state:       Scheduler.WorkflowState (1 Running, 2 Paused, 3 Succeeded, 4 Failed, 5 Cancelled).
-- watch:       1 while the workflow has released jobs it has not heard the end of; 0 otherwise.
-- bucket:      0-15, from the id: which watchdog looks after the row.
-- updated_at:  UTC ticks of the last write (see 0002).
-- data:        the workflow grain's state, serialized with the Orleans binary serializer.
-- version:     optimistic concurrency: a write of version v succeeds only over version v - 1 (1 creates the row).
-- Workflows stored before version 5 stay in the Orleans grain storage table until their next change moves them.

CREATE TABLE IF NOT EXISTS scheduler_workflows
(
    service_id  varchar(150) NOT NULL,
    workflow_id varchar(36)  NOT NULL,
    version     integer      NOT NULL,
    state       integer      NOT NULL,
    watch       integer      NOT NULL,
    bucket      integer      NOT NULL,
    updated_at  bigint       NOT NULL,
    data        bytea        NOT NULL,
    CONSTRAINT pk_scheduler_workflows PRIMARY KEY (service_id, workflow_id)
);

-- What a watchdog reads: the watched workflows of its bucket that have not changed for a while.
CREATE INDEX IF NOT EXISTS ix_scheduler_workflows_watch
    ON scheduler_workflows (service_id, bucket, updated_at)
    WHERE watch = 1;
