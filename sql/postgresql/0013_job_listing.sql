-- Scheduler schema version 13: listings by handler. Job listings filter by state,
-- queue, tenant or handler, newest first; the first three had an index since version 2, the handler had none, so
-- listing a rare handler's jobs read every row (0.7 s at a million). Idempotent.
-- Building the index reads the table once (writes to it wait meanwhile): on a large installation, run this script
-- before upgrading, or create the index CONCURRENTLY by hand first (same name; the script then skips it).
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_handler_created
    ON scheduler_jobs (service_id, handler, created_at DESC, job_id DESC);
