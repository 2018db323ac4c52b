-- Scheduler schema for PostgreSQL, version 2: Scheduler's own tables. Idempotent.
-- The same tables, columns and representations as sql/sqlite/0002_scheduler.sql, so SqlJobStore's SQL runs
-- unchanged on both:
-- Timestamps (created_at, updated_at, ts) are bigint UTC ticks: 100-nanosecond intervals since
-- 0001-01-01T00:00:00Z, i.e. .NET DateTimeOffset.UtcTicks. Exact round trip; order-preserving.
-- job_id is the job's GUID in canonical lower-case "d" form (36 characters).
-- state holds Scheduler.JobState: 1 Queued, 2 Running, 3 Succeeded, 4 Failed, 5 Cancelled.

CREATE TABLE IF NOT EXISTS scheduler_jobs
(
    service_id varchar(150) NOT NULL,
    job_id     varchar(36)  NOT NULL,
    queue      varchar(128) NOT NULL,
    shard      integer      NOT NULL,
    priority   integer      NOT NULL,
    tenant     varchar(128) NOT NULL,
    handler    varchar(128) NOT NULL,
    state      integer      NOT NULL,
    attempt    integer      NOT NULL,
    created_at bigint       NOT NULL,
    updated_at bigint       NOT NULL,
    CONSTRAINT pk_scheduler_jobs PRIMARY KEY (service_id, job_id)
);

-- Open (Queued or Running) jobs of one queue shard: what a shard reloads. Partial: finished jobs are not in it.
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_open
    ON scheduler_jobs (service_id, queue, shard, priority DESC, created_at)
    WHERE state IN (1, 2);

-- Listings, newest first, unfiltered or filtered by state, queue or tenant (the others filter these rows).
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_created
    ON scheduler_jobs (service_id, created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_state_created
    ON scheduler_jobs (service_id, state, created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_queue_created
    ON scheduler_jobs (service_id, queue, created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS ix_scheduler_jobs_tenant_created
    ON scheduler_jobs (service_id, tenant, created_at DESC, job_id DESC);

-- Log lines. seq is assigned by the database from an identity sequence and never reused, so it increases per
-- job (lines of one job are appended by one writer at a time).
-- stream holds Scheduler.LogStream: 0 System, 1 StdOut, 2 StdErr.
CREATE TABLE IF NOT EXISTS scheduler_job_logs
(
    seq        bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id varchar(150) NOT NULL,
    job_id     varchar(36)  NOT NULL,
    attempt    integer      NOT NULL,
    stream     integer      NOT NULL,
    ts         bigint       NOT NULL,
    text       text         NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_scheduler_job_logs_job
    ON scheduler_job_logs (service_id, job_id, seq);
