-- Scheduler schema version 11: API keys and the audit log of the REST API (docs/rest-api.md). Idempotent.
-- scheduler_api_keys: one row per key. key_id is the public part of the token ("sch_<key_id>_<secret>");
--   token_hash is the SHA-256 of the whole token, hex: the token itself is never stored. role: 1 viewer,
--   2 submitter, 3 operator, 4 admin. tenant: NULL for a key that sees every tenant. created_at, revoked_at: UTC
--   ticks (see 0002); revoked_at NULL while the key is valid. Revoked rows are kept, so the audit log's actors stay
--   explained.
-- scheduler_audit: one row per control action (cancel, requeue, purge, pause, limits, keys...): when (ts, UTC
--   ticks), who (actor), what (action, target) and the actor's tenant scope; seq orders the log.

CREATE TABLE IF NOT EXISTS scheduler_api_keys
(
    service_id varchar(150) NOT NULL,
    key_id     varchar(32)  NOT NULL,
    name       varchar(128) NOT NULL,
    role       integer      NOT NULL,
    tenant     varchar(128) NULL,
    created_at bigint       NOT NULL,
    revoked_at bigint       NULL,
    token_hash varchar(64)  NOT NULL,
    CONSTRAINT pk_scheduler_api_keys PRIMARY KEY (service_id, key_id)
);

CREATE TABLE IF NOT EXISTS scheduler_audit
(
    seq        bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id varchar(150) NOT NULL,
    ts         bigint        NOT NULL,
    actor      varchar(200)  NOT NULL,
    action     varchar(64)   NOT NULL,
    target     varchar(400)  NOT NULL,
    tenant     varchar(128)  NULL,
    detail     varchar(2000) NULL
);

CREATE INDEX IF NOT EXISTS ix_scheduler_audit_seq ON scheduler_audit (service_id, seq DESC);
