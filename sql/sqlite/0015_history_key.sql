-- Scheduler schema version 15: on PostgreSQL the status history's primary key becomes (service_id, job_id, seq), in
-- place of seq alone and a second index (sql/postgresql/0015_history_key.sql). Here seq is the table's rowid (no
-- index of its own) and ix_scheduler_job_history_job is the one index already: nothing to change. From this version
-- a job's first transition (Queued, at its creation) is not stored: it is read from the job row
-- (SqlJobStore.ReadHistoryAsync); rows written before are read as they were.
-- Recorded all the same, so both vendors' databases carry the same version numbers.
SELECT 1;
