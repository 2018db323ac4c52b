-- Scheduler schema version 12: webhook delivery records (docs/webhooks.md). Idempotent.
-- scheduler_webhook_deliveries: one row per call of a webhook for one end of a job or workflow, kept with its retries.
--   delivery_id: "job:<id N>:<end ticks>" or "workflow:<id N>:<end ticks>", sent as X-Scheduler-Delivery.
--   subject_kind "job" or "workflow"; subject_id its GUID ("D" format); event e.g. "job.succeeded".
--   state: 1 pending, 2 delivered, 3 failed (given up). attempts made so far; last_status the HTTP status of the
--   last answer (NULL: none came), last_error why it failed. Times are UTC ticks (see 0002): created_at when the
--   end was recorded, next_attempt_at when a pending delivery is next tried, finished_at when it was delivered or
--   given up, subject_finished_at the end it reports.
--   The rows are not a work queue: each pending delivery's grain holds a reminder that wakes it (no table polling).

CREATE TABLE IF NOT EXISTS scheduler_webhook_deliveries
(
    service_id          varchar(150)  NOT NULL,
    delivery_id         varchar(100)  NOT NULL,
    subject_kind        varchar(16)   NOT NULL,
    subject_id          varchar(36)   NOT NULL,
    tenant              varchar(128)  NOT NULL,
    event               varchar(64)   NOT NULL,
    url                 varchar(2048) NOT NULL,
    state               integer       NOT NULL,
    attempts            integer       NOT NULL,
    last_status         integer       NULL,
    last_error          varchar(2000) NULL,
    created_at          bigint        NOT NULL,
    next_attempt_at     bigint        NULL,
    finished_at         bigint        NULL,
    subject_finished_at bigint        NOT NULL,
    CONSTRAINT pk_scheduler_webhook_deliveries PRIMARY KEY (service_id, delivery_id)
);

CREATE INDEX IF NOT EXISTS ix_scheduler_webhook_deliveries_created ON scheduler_webhook_deliveries (service_id, created_at);
CREATE INDEX IF NOT EXISTS ix_scheduler_webhook_deliveries_subject ON scheduler_webhook_deliveries (service_id, subject_id);
