-- Scheduler schema version 15: on PostgreSQL the status history's primary key becomes (service_id, job_id, seq), in
-- place of seq alone and a second index (sql/postgresql/0015_history_key.sql). Here seq is the table's rowid (no
-- index of its own) and ix_scheduler_job_history_job is the one index already. From this version
-- a job's first transition (Queued, at its creation) is not stored: it is read from the job row
-- (SqlJobStore.ReadHistoryAsync); rows written before are read as they were.
-- The job table's index of all rows by creation goes: a listing without a state, queue, tenant or handler reads the
-- open rows' index (ix_scheduler_jobs_unended_created) and the finished rows' one (ix_scheduler_jobs_ended_created)
-- per final state instead, newest first, and takes the newest of those. Two index entries less per job (its insert
-- and its end).
DROP INDEX IF EXISTS ix_scheduler_jobs_created;
