-- Scheduler schema version 6: a job row holds the job's place in its queue shard, so a shard that reloads its open
-- jobs (after a restart or a move) orders them as they were queued.
-- queued_as_of: UTC ticks (see 0002) the shard orders the job by, after priority and size hint: its workflow's
--               creation for a workflow's job, else its own. NULL (rows written before version 6) means created_at.
-- size_hint:    its workflow's size hint, smaller first at equal priority; 0 for other jobs and older rows.
-- ix_scheduler_jobs_open stays as it is: it finds a shard's open rows, and the shard orders what it loads by its own key.
-- SQLite has no ADD COLUMN IF NOT EXISTS; the migrator runs this script once, in the transaction that records
-- version 6.
ALTER TABLE scheduler_jobs ADD COLUMN queued_as_of bigint NULL;
ALTER TABLE scheduler_jobs ADD COLUMN size_hint bigint NOT NULL DEFAULT 0;
