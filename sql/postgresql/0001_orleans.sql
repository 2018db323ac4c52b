-- Scheduler schema for PostgreSQL, version 1: what Orleans' ADO.NET grain storage and reminder providers need.
-- Our own SQL, written to the contract Orleans expects (fixed table OrleansQuery; query texts with named
-- parameters; result columns read by name). Idempotent: tables are created if missing, query rows upserted.
-- Every row is scoped by ServiceId (ClusterOptions.ServiceId). Unquoted names: PostgreSQL folds them to lower
-- case, and Npgsql finds the columns Orleans asks for by name regardless of case.
-- Parameters that Orleans may pass as NULL carry an explicit cast, so their type never has to be inferred.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);

-- Grain state. GrainTypeString is the state name Orleans passes (not the grain class).
-- GrainIdExtensionKey is a NOT NULL form of the nullable extension ('' for none, '+' || extension otherwise),
-- so that the primary key tells "no extension" apart from an empty one and can serve as the upsert target.
-- fillfactor 90: an update touches no indexed column, so leaving room in each page lets it stay a HOT update.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    ServiceId              varchar(150) NOT NULL,
    GrainIdHash            integer      NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionKey    varchar(513) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL,
    Version                integer      NOT NULL,
    CONSTRAINT PK_OrleansStorage
        PRIMARY KEY (ServiceId, GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionKey)
) WITH (fillfactor = 90);

-- Reminders. GrainId is Orleans' text form ("type/key"); GrainHash its uniform hash as a signed int.
-- StartTime is a UTC instant (Npgsql writes and reads a UTC DateTime as timestamptz, independent of TimeZone).
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150) NOT NULL,
    GrainId      varchar(150) NOT NULL,
    ReminderName varchar(150) NOT NULL,
    StartTime    timestamptz  NOT NULL,
    Period       bigint       NOT NULL,
    GrainHash    integer      NOT NULL,
    Version      integer      NOT NULL,
    CONSTRAINT PK_OrleansRemindersTable PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS IX_OrleansRemindersTable_ServiceId_GrainHash
    ON OrleansRemindersTable (ServiceId, GrainHash);

-- The extension is compared NULL-safely through GrainIdExtensionKey (NULL and '' map to different keys) rather
-- than with IS NOT DISTINCT FROM, which an index cannot serve: every statement below is a full primary-key lookup.

-- Read: 0 or 1 row (PayloadBinary, Version). A cleared state has a row with a NULL payload and its version.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE ServiceId = @ServiceId
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionKey = COALESCE(''+'' || @GrainIdExtensionString::varchar, '''');
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Write: one statement, one round trip. A row is offered for insert when the caller has no version (first
-- write) or when a row exists (so the conflict branch can update it). The update only happens when the stored
-- version equals the caller''s; otherwise no row is returned and Orleans raises InconsistentStateException.
-- A caller with a version but no stored row (deleted meanwhile) inserts nothing and gets no row: a conflict too.
-- Two first writers racing: the second waits on the key, then takes the conflict branch, and its NULL version
-- matches nothing.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', '
INSERT INTO OrleansStorage AS s
    (ServiceId, GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString,
     GrainIdExtensionKey, GrainIdExtensionString, PayloadBinary, ModifiedOn, Version)
SELECT @ServiceId, @GrainIdHash, @GrainTypeHash, @GrainIdN0, @GrainIdN1, @GrainTypeString,
       COALESCE(''+'' || @GrainIdExtensionString::varchar, ''''), @GrainIdExtensionString::varchar,
       @PayloadBinary::bytea, now(), 1
WHERE @GrainStateVersion::integer IS NULL
   OR EXISTS (SELECT 1 FROM OrleansStorage
              WHERE ServiceId = @ServiceId
                AND GrainIdHash = @GrainIdHash
                AND GrainTypeHash = @GrainTypeHash
                AND GrainIdN0 = @GrainIdN0
                AND GrainIdN1 = @GrainIdN1
                AND GrainTypeString = @GrainTypeString
                AND GrainIdExtensionKey = COALESCE(''+'' || @GrainIdExtensionString::varchar, ''''))
ON CONFLICT (ServiceId, GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionKey)
DO UPDATE SET
    PayloadBinary = excluded.PayloadBinary,
    ModifiedOn = excluded.ModifiedOn,
    Version = s.Version + 1
WHERE s.Version = @GrainStateVersion::integer
RETURNING s.Version AS NewGrainStateVersion;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Clear: keeps the row with a NULL payload and bumps the version; returns the new version (first column),
-- or no row when the version does not match.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = now(),
    Version = Version + 1
WHERE ServiceId = @ServiceId
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionKey = COALESCE(''+'' || @GrainIdExtensionString::varchar, '''')
  AND Version = @GrainStateVersion::integer
RETURNING Version;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Delete (used with DeleteStateOnClear): removes the row when the version matches and returns a value that
-- differs from the caller''s version; no row otherwise.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE ServiceId = @ServiceId
  AND GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionKey = COALESCE(''+'' || @GrainIdExtensionString::varchar, '''')
  AND Version = @GrainStateVersion::integer
RETURNING Version + 1;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Reminders: insert with version 0, or update and bump the version; returns Version.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime::timestamptz, @Period::bigint, @GrainHash::integer, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE SET
    StartTime = excluded.StartTime,
    Period = excluded.Period,
    GrainHash = excluded.GrainHash,
    Version = r.Version + 1
RETURNING r.Version AS Version;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Range reads over the signed hash: the plain range (begin < end) and the wrapped one.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash::integer AND GrainHash <= @EndHash::integer;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash::integer OR GrainHash <= @EndHash::integer);
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Delete one reminder: Orleans wants exactly one row with one column, > 0 when deleted. A DELETE alone returns
-- no row when nothing matched, so the deleted rows are counted by the outer SELECT (one statement, one row).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName
      AND Version = @Version::integer
    RETURNING 1
)
SELECT COUNT(*)::integer AS DeletedCount FROM deleted;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
