-- Scheduler schema version 4: the job grain's whole state lives in its job row, so that the changes of many
-- jobs commit together (one transaction for a batch, instead of one per job and transition).
-- data:    the job grain's state, serialized with the Orleans binary serializer (NULL in rows written before
--          version 4: their state is still read from the Orleans grain storage table, once, and moved here).
-- version: optimistic concurrency: a write of version v succeeds only over version v - 1.
ALTER TABLE scheduler_jobs ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 0;
ALTER TABLE scheduler_jobs ADD COLUMN IF NOT EXISTS data bytea NULL;
