using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

/// <summary>
/// <see cref="SqlJobStore"/> on PostgreSQL (the cluster profile): a batch of rows is one statement, from arrays, with
/// data-modifying CTEs writing the history alongside; a single row is the plain upsert, with its history in the same
/// statement. The connection settings it relies on (automatic preparation, custom plans) are the PostgreSQL profile's
/// defaults (<c>PostgresSchedulerStorage.JobStoreConnectionString</c>).
/// </summary>
public sealed class PostgresJobStore(DbDataSource dataSource, string serviceId) : SqlJobStore(dataSource, serviceId)
{
    // A whole batch (ids unique within it) in one statement, from arrays. Every row goes through the primary key's
    // conflict check, one index probe each, whatever the planner believes about the table: a join of the batch to the
    // table is planned from statistics that lag behind a fast-growing table, and can scan all of a service's rows.
    // A row above version 1 may only update: it is proposed with created_at -1 (never a real time, and an update keeps
    // the stored one), so a row it created instead is returned as absent; the caller deletes it before committing and
    // reports a conflict. History rows are added for the rows written only, less a job's first Queued transition (see
    // FirstQueuedIsDerived).
    private static readonly string SaveSql = $"""
        WITH input AS (
            SELECT * FROM unnest(@job_id, @queue, @shard, @priority, @tenant, @handler, @state, @attempt,
                                 @created_at, @updated_at, @version, @data, @silo, @reason, @queued_at,
                                 @queued_as_of, @size_hint, @not_before, @workflow_id, @stored)
                AS t(job_id, queue, shard, priority, tenant, handler, state, attempt,
                     created_at, updated_at, version, data, silo, reason, queued_at,
                     queued_as_of, size_hint, not_before, workflow_id, stored)
        ), saved AS (
            INSERT INTO scheduler_jobs AS j
                (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data,
                 queued_as_of, size_hint, not_before, workflow_id)
            SELECT @service_id, job_id, queue, shard, priority, tenant, handler, state, attempt,
                   CASE WHEN version > 1 THEN -1 ELSE created_at END, updated_at, version, data, queued_as_of, size_hint, not_before,
                   workflow_id
            FROM input
            {OnConflictUpdate("j")}
            RETURNING j.job_id, j.created_at = -1 AS absent
        ), written AS (
            SELECT job_id FROM saved WHERE NOT absent
        ), history AS (
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            SELECT @service_id, h.job_id, h.ts, h.state, h.attempt, h.silo, h.reason
            FROM (
                SELECT i.job_id, i.queued_at AS ts, {(int)JobState.Queued} AS state, 0 AS attempt, NULL::text AS silo, NULL::text AS reason, 0 AS k
                FROM input AS i JOIN written AS w ON w.job_id = i.job_id WHERE i.queued_at IS NOT NULL
                UNION ALL
                SELECT i.job_id, i.updated_at, i.state, i.attempt, i.silo, i.reason, 1
                FROM input AS i JOIN written AS w ON w.job_id = i.job_id
                WHERE i.stored
            ) AS h
            ORDER BY h.k
        )
        SELECT job_id, absent FROM saved
        """;

    // Deletes the rows a batch created for records above version 1 (see SaveSql), in its transaction.
    private const string DeleteAbsentSql = """
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND job_id = ANY(@job_ids) AND created_at = -1
        """;

    // A round of one record: the plain statements, with the history row from the same statement. Much
    // cheaper to plan than the array form, and a round of one is what a lightly loaded silo mostly writes.
    private static readonly string SaveOneSql = WithHistory(UpsertJobSql);
    private static readonly string UpdateOneSql = WithHistory(UpdateJobSql);

    private static string WithHistory(string writeJob) => $"""
        WITH written AS (
        {writeJob}
        RETURNING job_id
        ), history AS (
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            SELECT @service_id, h.job_id, h.ts, h.state, h.attempt, h.silo, h.reason
            FROM (
                SELECT job_id, @queued_at::bigint AS ts, {(int)JobState.Queued} AS state, 0 AS attempt, NULL::text AS silo, NULL::text AS reason, 0 AS k
                FROM written WHERE @queued_at::bigint IS NOT NULL
                UNION ALL
                SELECT job_id, @updated_at, @state, @attempt, @silo, @reason, 1 FROM written WHERE @stored::boolean
            ) AS h
            ORDER BY h.k
        )
        SELECT job_id FROM written
        """;

    private const string ReadStatesSql = """
        SELECT job_id, version, data FROM scheduler_jobs WHERE service_id = @service_id AND job_id = ANY(@job_ids)
        """;

    // Workflows: a batch (ids unique within it) in one statement, from arrays. As for job rows (see SaveSql),
    // every row goes through the primary key's conflict check, never a planned join of the table. Version 1 creates
    // (an existing row is left alone); a later version updates the row at the version before it, and is proposed with
    // bucket -1 (never a real bucket; an update keeps the stored one), so a row it created instead comes back as
    // absent, for the caller to delete before committing.
    private const string SaveWorkflowsSql = """
        WITH input AS (
            SELECT * FROM unnest(@workflow_id, @version, @state, @watch, @bucket, @updated_at, @data)
                AS t(workflow_id, version, state, watch, bucket, updated_at, data)
        )
        INSERT INTO scheduler_workflows AS w (service_id, workflow_id, version, state, watch, bucket, updated_at, data)
        SELECT @service_id, workflow_id, version, state, watch, CASE WHEN version > 1 THEN -1 ELSE bucket END, updated_at, data
        FROM input
        ON CONFLICT (service_id, workflow_id) DO UPDATE SET
            version = excluded.version, state = excluded.state, watch = excluded.watch, updated_at = excluded.updated_at,
            data = excluded.data
        WHERE excluded.version > 1 AND w.version = excluded.version - 1
        RETURNING w.workflow_id, w.bucket = -1 AS absent
        """;

    // Deletes the rows a batch created for records above version 1 (see SaveWorkflowsSql), in its transaction.
    private const string DeleteAbsentWorkflowsSql = """
        DELETE FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids) AND bucket = -1
        """;

    // Schedules: a batch (ids unique within it) in one statement, from arrays, through the primary key's conflict
    // check as for workflows. Version 1 creates (an existing row is left alone); a later version is proposed negated,
    // and updates the row at the version before it to the positive one; a row it created instead (negative) comes
    // back as absent, for the caller to delete before committing.
    private const string SaveSchedulesSql = """
        WITH input AS (
            SELECT * FROM unnest(@schedule_id, @version, @paused, @updated_at, @data)
                AS t(schedule_id, version, paused, updated_at, data)
        )
        INSERT INTO scheduler_schedules AS s (service_id, schedule_id, version, paused, updated_at, data)
        SELECT @service_id, schedule_id, CASE WHEN version > 1 THEN -version ELSE version END, paused, updated_at, data
        FROM input
        ON CONFLICT (service_id, schedule_id) DO UPDATE SET
            version = -excluded.version, paused = excluded.paused, updated_at = excluded.updated_at, data = excluded.data
        WHERE excluded.version < 0 AND s.version = -excluded.version - 1
        RETURNING s.schedule_id, s.version < 0 AS absent
        """;

    // Deletes the rows a batch created for records above version 1 (see SaveSchedulesSql), in its transaction.
    private const string DeleteAbsentSchedulesSql = """
        DELETE FROM scheduler_schedules WHERE service_id = @service_id AND schedule_id = ANY(@schedule_ids) AND version < 0
        """;

    private const string ReadWorkflowsSql = """
        SELECT workflow_id, version, data FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids)
        """;

    private const string TouchWorkflowsSql = """
        UPDATE scheduler_workflows SET updated_at = @at WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids) AND updated_at < @at
        """;

    // A single record is one statement (row and history); a batch may need a second (see SaveSql).
    private protected override bool IsOneStatement(IReadOnlyList<JobRecord> records) => records.Count == 1;

    // One round trip per round (see Rounds). Not prepared: a cached generic plan, made while the table
    // was small, would keep scanning it once it has grown; planning each batch afresh costs well under a millisecond.
    private protected override async Task<IReadOnlyList<JobId>> SaveJobsAsync(
        DbConnection connection, DbTransaction? transaction, IReadOnlyList<JobRecord> records, CancellationToken cancellationToken)
    {
        List<JobId>? conflicts = null;
        foreach (var round in Rounds(records))
        {
            if (round is [var one])
            {
                await using var single = CreateJobCommand(connection, transaction, one.Version <= 1 ? SaveOneSql : UpdateOneSql);
                SetJobParameters(single, one);
                AddParameter(single, "silo", DbType.String).Value = (object?)one.Silo ?? DBNull.Value;
                AddParameter(single, "reason", DbType.String).Value = (object?)one.Reason ?? DBNull.Value;
                AddParameter(single, "queued_at", DbType.Int64).Value = StoredQueuedAt(one)?.UtcTicks ?? (object)DBNull.Value;
                AddParameter(single, "stored", DbType.Boolean).Value = !FirstQueuedIsDerived(one);
                if (await single.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                    (conflicts ??= []).Add(one.Id);
                continue;
            }

            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = SaveSql;
            AddParameter(command, "service_id", DbType.String).Value = ServiceId;
            AddArray(command, "job_id", round.Select(r => r.Id.ToString()).ToArray());
            AddArray(command, "queue", round.Select(r => r.Queue).ToArray());
            AddArray(command, "shard", round.Select(r => r.Shard).ToArray());
            AddArray(command, "priority", round.Select(r => r.Priority).ToArray());
            AddArray(command, "tenant", round.Select(r => r.Tenant).ToArray());
            AddArray(command, "handler", round.Select(r => r.Handler).ToArray());
            AddArray(command, "state", round.Select(r => (int)r.State).ToArray());
            AddArray(command, "attempt", round.Select(r => r.Attempt).ToArray());
            AddArray(command, "created_at", round.Select(r => r.CreatedAt.UtcTicks).ToArray());
            AddArray(command, "updated_at", round.Select(r => r.UpdatedAt.UtcTicks).ToArray());
            AddArray(command, "version", round.Select(r => r.Version).ToArray());
            AddArray(command, "data", round.Select(r => r.Data).ToArray());
            AddArray(command, "silo", round.Select(r => r.Silo).ToArray());
            AddArray(command, "reason", round.Select(r => r.Reason).ToArray());
            AddArray(command, "queued_at", round.Select(r => StoredQueuedAt(r)?.UtcTicks).ToArray());
            AddArray(command, "queued_as_of", round.Select(r => r.QueuedAsOf?.UtcTicks).ToArray());
            AddArray(command, "size_hint", round.Select(r => r.SizeHint).ToArray());
            AddArray(command, "not_before", round.Select(r => r.NotBefore?.UtcTicks).ToArray());
            AddArray(command, "workflow_id", round.Select(r => r.Workflow?.ToString()).ToArray());
            AddArray(command, "stored", round.Select(r => !FirstQueuedIsDerived(r)).ToArray());

            // Updates of rows that do not exist (a job deleted meanwhile) are undone.
            var written = await ReadBatchWriteAsync(command, DeleteAbsentSql, "job_ids", round.Count, cancellationToken).ConfigureAwait(false);
            foreach (var record in round)
            {
                if (!written.Contains(record.Id.ToString()))
                    (conflicts ??= []).Add(record.Id);
            }
        }
        return conflicts ?? [];
    }

    // A round holds each id at most once (ON CONFLICT may not touch a row twice in one statement), so a call holding
    // an id twice takes two rounds, in order.
    private static IEnumerable<List<JobRecord>> Rounds(IReadOnlyList<JobRecord> records)
    {
        var round = new List<JobRecord>(records.Count);
        var ids = new HashSet<JobId>();
        foreach (var record in records)
        {
            if (!ids.Add(record.Id))
            {
                yield return round;
                round = [];
                ids.Clear();
                ids.Add(record.Id);
            }
            round.Add(record);
        }
        if (round.Count > 0)
            yield return round;
    }

    private protected override async Task ReadStatesAsync(DbCommand command, IReadOnlyList<JobId> ids, Dictionary<JobId, StoredJobState> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadStatesSql;
        AddArray(command, "job_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
        await ReadStateRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
    }

    private protected override Task SaveWorkflowRoundAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken) =>
        round.Count > 1
            ? SaveWorkflowsBatchAsync(connection, transaction, round, conflicts, cancellationToken)
            : SaveWorkflowsEachAsync(connection, transaction, round, conflicts, cancellationToken);

    private async Task SaveWorkflowsBatchAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = SaveWorkflowsSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddArray(command, "workflow_id", round.Select(r => r.Id.ToString()).ToArray());
        AddArray(command, "version", round.Select(r => r.Version).ToArray());
        AddArray(command, "state", round.Select(r => (int)r.State).ToArray());
        AddArray(command, "watch", round.Select(r => r.Watch ? 1 : 0).ToArray());
        AddArray(command, "bucket", round.Select(r => r.Bucket).ToArray());
        AddArray(command, "updated_at", round.Select(r => r.UpdatedAt.UtcTicks).ToArray());
        AddArray(command, "data", round.Select(r => r.Data).ToArray());
        // Updates of rows that do not exist (a workflow deleted meanwhile) are undone.
        var written = await ReadBatchWriteAsync(command, DeleteAbsentWorkflowsSql, "workflow_ids", round.Count, cancellationToken).ConfigureAwait(false);
        conflicts.AddRange(round.Where(r => !written.Contains(r.Id.ToString())).Select(r => r.Id));
    }

    // A round of many schedules is one statement: thousands of schedules firing a second share it (and its commit).
    private protected override async Task SaveScheduleRoundAsync(DbConnection connection, DbTransaction? transaction, List<ScheduleRecord> round,
        List<string> conflicts, CancellationToken cancellationToken)
    {
        if (round.Count == 1)
        {
            await base.SaveScheduleRoundAsync(connection, transaction, round, conflicts, cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = SaveSchedulesSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddArray(command, "schedule_id", round.Select(r => r.Id).ToArray());
        AddArray(command, "version", round.Select(r => r.Version).ToArray());
        AddArray(command, "paused", round.Select(r => r.Paused ? 1 : 0).ToArray());
        AddArray(command, "updated_at", round.Select(r => r.UpdatedAt.UtcTicks).ToArray());
        AddArray(command, "data", round.Select(r => r.Data).ToArray());
        // Updates of rows that do not exist (a schedule deleted meanwhile) are undone.
        var written = await ReadBatchWriteAsync(command, DeleteAbsentSchedulesSql, "schedule_ids", round.Count, cancellationToken).ConfigureAwait(false);
        conflicts.AddRange(round.Where(r => !written.Contains(r.Id)).Select(r => r.Id));
    }

    private protected override async Task ReadWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, Dictionary<WorkflowId, StoredWorkflowState> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadWorkflowsSql;
        AddArray(command, "workflow_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
        await ReadWorkflowRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
    }

    // Concurrency keys: a batch (keys unique within it) in one statement, from arrays; returns the keys written.
    private const string SaveFlowKeysSql = """
        INSERT INTO scheduler_flow_keys AS k (service_id, flow_key, version, data)
        SELECT @service_id, t.flow_key, t.version, t.data FROM unnest(@flow_key, @version, @data) AS t(flow_key, version, data)
        ON CONFLICT (service_id, flow_key) DO UPDATE SET version = excluded.version, data = excluded.data
        WHERE k.version = excluded.version - 1
        RETURNING k.flow_key
        """;

    private const string ReadFlowKeysSql = """
        SELECT flow_key, version, data FROM scheduler_flow_keys WHERE service_id = @service_id AND flow_key = ANY(@flow_keys)
        """;

    private protected override async Task SaveFlowKeyRoundAsync(DbConnection connection, DbTransaction? transaction, List<FlowKeyRecord> round,
        List<string> conflicts, CancellationToken cancellationToken)
    {
        if (round.Count == 1)
        {
            await base.SaveFlowKeyRoundAsync(connection, transaction, round, conflicts, cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = SaveFlowKeysSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddArray(command, "flow_key", round.Select(r => r.Key).ToArray());
        AddArray(command, "version", round.Select(r => r.Version).ToArray());
        AddArray(command, "data", round.Select(r => r.Data).ToArray());
        var written = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                written.Add(reader.GetString(0));
        }
        conflicts.AddRange(round.Where(r => !written.Contains(r.Key)).Select(r => r.Key));
    }

    private protected override async Task ReadFlowKeysAsync(DbCommand command, IReadOnlyList<string> keys, Dictionary<string, StoredFlowKey> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadFlowKeysSql;
        AddArray(command, "flow_keys", keys.Distinct(StringComparer.Ordinal).ToArray());
        await ReadFlowKeyRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
    }

    private protected override async Task TouchWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken)
    {
        command.CommandText = TouchWorkflowsSql;
        AddArray(command, "workflow_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads what a batch write returns: one row per record it wrote (id, and whether the record was meant
    /// to update a row that turned out not to exist, so the statement created it). Rows of the second kind are
    /// deleted again in the same transaction (<paramref name="deleteSql"/>, ids in <paramref name="idsParameter"/>).
    /// Returns the ids written as proposed; the others were refused (another version).
    /// </summary>
    private async Task<HashSet<string>> ReadBatchWriteAsync(DbCommand command, string deleteSql, string idsParameter, int count,
        CancellationToken cancellationToken)
    {
        var written = new HashSet<string>(count, StringComparer.Ordinal);
        List<string>? absent = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetBoolean(1))
                    (absent ??= []).Add(reader.GetString(0));
                else
                    written.Add(reader.GetString(0));
            }
        }
        if (absent is not null)
        {
            await using var delete = command.Connection!.CreateCommand();
            delete.Transaction = command.Transaction;
            delete.CommandText = deleteSql;
            AddParameter(delete, "service_id", DbType.String).Value = ServiceId;
            AddArray(delete, idsParameter, absent.ToArray());
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return written;
    }

    private const string DeleteWorkflowJobsManySql = """
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids) RETURNING job_id
        """;

    private const string DeleteJobTrailsSql = """
        WITH history AS (
            DELETE FROM scheduler_job_history WHERE service_id = @service_id AND job_id = ANY(@job_ids)
        )
        DELETE FROM scheduler_job_logs WHERE service_id = @service_id AND job_id = ANY(@job_ids)
        """;

    // A batch's workflows' jobs in one statement, from an array.
    private protected override async Task<List<string>> DeleteWorkflowJobsAsync(DbConnection connection, DbTransaction transaction,
        List<string> workflowIds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = DeleteWorkflowJobsManySql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddArray(command, "workflow_ids", workflowIds.ToArray());
        return await ReadStringsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    // A batch's history and logs in one statement (each table through its (service_id, job_id, seq) index).
    private protected override async Task DeleteJobTrailsAsync(DbConnection connection, DbTransaction transaction, List<string> jobIds,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = DeleteJobTrailsSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddArray(command, "job_ids", jobIds.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // The provider infers the array type from the values (text[], integer[], bigint[], bytea[] on PostgreSQL).
    private static void AddArray<T>(DbCommand command, string name, T[] values)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = values;
        command.Parameters.Add(parameter);
    }
}
