-- Scheduler schema version 10: each concurrency key's state in a row of its own (it lived in the Orleans grain
-- storage before), so that the claims and releases of many keys commit together, as job rows do. Idempotent.
-- flow_key: the key itself (1 to 200 characters, see docs/flow-control.md).
-- data:     the key grain's state (runtime settings, holders, waiters, rate log), Orleans binary serializer.
-- version:  optimistic concurrency: a write of version v succeeds only over version v - 1 (1 creates the row).
-- Keys stored before version 10 stay in the Orleans grain storage table until their next change moves them.

CREATE TABLE IF NOT EXISTS scheduler_flow_keys
(
    service_id varchar(150) NOT NULL,
    flow_key   varchar(200) NOT NULL,
    version    integer      NOT NULL,
    data       bytea        NOT NULL,
    CONSTRAINT pk_scheduler_flow_keys PRIMARY KEY (service_id, flow_key)
);
