-- Scheduler schema version 13: listings by handler. Job listings filter by state,
-- queue, tenant or handler, newest first; the first three had an index since version 2, the handler had none, so
-- listing a rare handler's jobs read every row.
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_handler_created
    ON scheduler_jobs (service_id, handler, created_at DESC, job_id DESC);
