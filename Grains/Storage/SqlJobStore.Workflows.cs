using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// Workflow rows (scheduler_workflows, sql/<vendor>/0005_workflows.sql).
public sealed partial class SqlJobStore
{
    private const string InsertWorkflowSql = """
        INSERT INTO scheduler_workflows (service_id, workflow_id, version, state, watch, bucket, updated_at, data)
        VALUES (@service_id, @workflow_id, @version, @state, @watch, @bucket, @updated_at, @data)
        ON CONFLICT (service_id, workflow_id) DO NOTHING
        """;

    private const string UpdateWorkflowSql = """
        UPDATE scheduler_workflows SET version = @version, state = @state, watch = @watch, updated_at = @updated_at, data = @data
        WHERE service_id = @service_id AND workflow_id = @workflow_id AND version = @version - 1
        """;

    // PostgreSQL: a batch (ids unique within it) in one statement, from arrays. As for job rows (see PostgresSaveSql),
    // every row goes through the primary key's conflict check, never a planned join of the table. Version 1 creates
    // (an existing row is left alone); a later version updates the row at the version before it, and is proposed with
    // bucket -1 (never a real bucket; an update keeps the stored one), so a row it created instead comes back as
    // absent, for the caller to delete before committing.
    private const string PostgresSaveWorkflowsSql = """
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

    // Deletes the rows a batch created for records above version 1 (see PostgresSaveWorkflowsSql), in its transaction.
    private const string PostgresDeleteAbsentWorkflowsSql = """
        DELETE FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids) AND bucket = -1
        """;

    private const string ReadWorkflowSql = """
        SELECT workflow_id, version, data FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = @workflow_id
        """;

    private const string PostgresReadWorkflowsSql = """
        SELECT workflow_id, version, data FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids)
        """;

    // The literal watch = 1 matches the partial index ix_scheduler_workflows_watch.
    private const string ListWatchedWorkflowsSql = """
        SELECT workflow_id FROM scheduler_workflows
        WHERE service_id = @service_id AND bucket = @bucket AND watch = 1 AND updated_at < @updated_before
        ORDER BY updated_at, workflow_id
        LIMIT @limit
        """;

    public async Task<IReadOnlyList<WorkflowId>> SaveWorkflowsAsync(IReadOnlyList<WorkflowRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(record.Version, nameof(records));
            ArgumentNullException.ThrowIfNull(record.Data, nameof(records));
        }
        if (records.Count == 0)
            return [];

        // A round holds each id at most once (one statement may not change a row twice); rounds run in order.
        var rounds = new List<List<WorkflowRecord>> { new() };
        var seen = new HashSet<WorkflowId>();
        foreach (var record in records)
        {
            if (!seen.Add(record.Id))
            {
                rounds.Add([]);
                seen.Clear();
                seen.Add(record.Id);
            }
            rounds[^1].Add(record);
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One record is one statement, atomic by itself; anything more runs in a transaction (a PostgreSQL batch may
        // need a second statement: see PostgresSaveWorkflowsSql).
        var single = rounds is [[_]];
        await using var transaction = single ? null : await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var conflicts = new List<WorkflowId>();
        foreach (var round in rounds)
        {
            if (_dialect == SqlDialect.PostgreSql && round.Count > 1)
                await SaveWorkflowsPostgresAsync(connection, transaction, round, conflicts, cancellationToken).ConfigureAwait(false);
            else
                await SaveWorkflowsEachAsync(connection, transaction, round, conflicts, cancellationToken).ConfigureAwait(false);
        }
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return conflicts;
    }

    private async Task SaveWorkflowsEachAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken)
    {
        foreach (var record in round)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = record.Version == 1 ? InsertWorkflowSql : UpdateWorkflowSql;
            AddParameter(command, "service_id", DbType.String).Value = _serviceId;
            AddParameter(command, "workflow_id", DbType.String).Value = record.Id.ToString();
            AddParameter(command, "version", DbType.Int32).Value = record.Version;
            AddParameter(command, "state", DbType.Int32).Value = (int)record.State;
            AddParameter(command, "watch", DbType.Int32).Value = record.Watch ? 1 : 0;
            AddParameter(command, "bucket", DbType.Int32).Value = record.Bucket;
            AddParameter(command, "updated_at", DbType.Int64).Value = record.UpdatedAt.UtcTicks;
            AddParameter(command, "data", DbType.Binary).Value = record.Data;
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                conflicts.Add(record.Id);
        }
    }

    private async Task SaveWorkflowsPostgresAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = PostgresSaveWorkflowsSql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddArray(command, "workflow_id", round.Select(r => r.Id.ToString()).ToArray());
        AddArray(command, "version", round.Select(r => r.Version).ToArray());
        AddArray(command, "state", round.Select(r => (int)r.State).ToArray());
        AddArray(command, "watch", round.Select(r => r.Watch ? 1 : 0).ToArray());
        AddArray(command, "bucket", round.Select(r => r.Bucket).ToArray());
        AddArray(command, "updated_at", round.Select(r => r.UpdatedAt.UtcTicks).ToArray());
        AddArray(command, "data", round.Select(r => r.Data).ToArray());
        // Updates of rows that do not exist (a workflow deleted meanwhile) are undone.
        var written = await ReadBatchWriteAsync(command, PostgresDeleteAbsentWorkflowsSql, "workflow_ids", round.Count, cancellationToken).ConfigureAwait(false);
        conflicts.AddRange(round.Where(r => !written.Contains(r.Id.ToString())).Select(r => r.Id));
    }

    public async Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<WorkflowId, StoredWorkflowState>(ids.Count);
        if (ids.Count == 0)
            return found;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        if (_dialect == SqlDialect.PostgreSql)
        {
            command.CommandText = PostgresReadWorkflowsSql;
            AddArray(command, "workflow_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
            await ReadWorkflowsAsync(command, found, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            command.CommandText = ReadWorkflowSql;
            var workflowId = AddParameter(command, "workflow_id", DbType.String);
            foreach (var id in ids)
            {
                workflowId.Value = id.ToString();
                await ReadWorkflowsAsync(command, found, cancellationToken).ConfigureAwait(false);
            }
        }
        return found;
    }

    private static async Task ReadWorkflowsAsync(DbCommand command, Dictionary<WorkflowId, StoredWorkflowState> found, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            found[new WorkflowId(Guid.ParseExact(reader.GetString(0), "d"))] = new StoredWorkflowState(ReadInt32(reader, 1), (byte[])reader.GetValue(2));
    }

    public async Task TouchWorkflowsAsync(IReadOnlyList<WorkflowId> ids, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
            return;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "at", DbType.Int64).Value = at.UtcTicks;
        if (_dialect == SqlDialect.PostgreSql)
        {
            command.CommandText = "UPDATE scheduler_workflows SET updated_at = @at WHERE service_id = @service_id AND workflow_id = ANY(@workflow_ids) AND updated_at < @at";
            AddArray(command, "workflow_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = "UPDATE scheduler_workflows SET updated_at = @at WHERE service_id = @service_id AND workflow_id = @workflow_id AND updated_at < @at";
        var workflowId = AddParameter(command, "workflow_id", DbType.String);
        foreach (var id in ids.Distinct())
        {
            workflowId.Value = id.ToString();
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> HasOrleansStateAsync(string stateName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateName);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM OrleansStorage WHERE ServiceId = @service_id AND GrainTypeString = @state_name LIMIT 1";
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "state_name", DbType.String).Value = stateName;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, WorkflowRecord.Buckets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ListWatchedWorkflowsSql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "bucket", DbType.Int32).Value = bucket;
        AddParameter(command, "updated_before", DbType.Int64).Value = updatedBefore.UtcTicks;
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        var ids = new List<WorkflowId>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            ids.Add(new WorkflowId(Guid.ParseExact(reader.GetString(0), "d")));
        return ids;
    }
}
