-- Scheduler schema version 3: every transition of every job (status history), written in the same
-- transaction as the job row it accompanies. Timestamps are UTC ticks, as in 0002.
CREATE TABLE IF NOT EXISTS scheduler_job_history
(
    seq        integer      NOT NULL PRIMARY KEY AUTOINCREMENT,
    service_id varchar(150) NOT NULL,
    job_id     varchar(36)  NOT NULL,
    ts         bigint       NOT NULL,
    state      integer      NOT NULL,
    attempt    integer      NOT NULL,
    silo       varchar(200) NULL,
    reason     text         NULL
);

CREATE INDEX IF NOT EXISTS ix_scheduler_job_history_job
    ON scheduler_job_history (service_id, job_id, seq);
