-- Scheduler schema version 8: recurring schedules, one row each. The schedule grain reads its row when it activates
-- and writes it on every change (a definition update, a pause, a firing), so a schedule survives any restart; its
-- Orleans reminder only wakes the grain. Version 7 (delayed jobs) comes from another change. Idempotent.
-- schedule_id: the user's id, e.g. "nightly-rescan" (letters, digits, '.', '-', '_'), compared byte for byte.
-- version:     optimistic concurrency: a write of version v succeeds only over version v - 1 (1 creates the row).
-- paused:      1 while the schedule is paused, else 0.
-- updated_at:  UTC ticks of the last write (see 0002).
-- data:        the schedule grain's state (definition, creation time, pause note, last occurrence, the last 100
--              runs), serialized with the Orleans binary serializer.

CREATE TABLE IF NOT EXISTS scheduler_schedules
(
    service_id  varchar(150) NOT NULL,
    schedule_id varchar(128) COLLATE "C" NOT NULL,
    version     integer      NOT NULL,
    paused      integer      NOT NULL,
    updated_at  bigint       NOT NULL,
    data        bytea        NOT NULL,
    CONSTRAINT pk_scheduler_schedules PRIMARY KEY (service_id, schedule_id)
);
