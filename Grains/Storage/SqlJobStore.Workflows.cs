using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// Workflow rows (scheduler_workflows, sql/<vendor>/0005_workflows.sql).
public abstract partial class SqlJobStore
{
    private protected const string InsertWorkflowSql = """
        INSERT INTO scheduler_workflows (service_id, workflow_id, version, state, watch, bucket, updated_at, data)
        VALUES (@service_id, @workflow_id, @version, @state, @watch, @bucket, @updated_at, @data)
        ON CONFLICT (service_id, workflow_id) DO NOTHING
        """;

    private protected const string UpdateWorkflowSql = """
        UPDATE scheduler_workflows SET version = @version, state = @state, watch = @watch, updated_at = @updated_at, data = @data
        WHERE service_id = @service_id AND workflow_id = @workflow_id AND version = @version - 1
        """;

    // The literal watch = 1 matches the partial index ix_scheduler_workflows_watch.
    private const string ListWatchedWorkflowsSql = """
        SELECT workflow_id FROM scheduler_workflows
        WHERE service_id = @service_id AND bucket = @bucket AND watch = 1 AND updated_at < @updated_before
        ORDER BY updated_at, workflow_id
        LIMIT @limit
        """;

    public async Task<IReadOnlyList<StoredWorkflowRow>> ListWorkflowsAsync(WorkflowState? state, WorkflowId? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new System.Text.StringBuilder("SELECT workflow_id, state, data FROM scheduler_workflows WHERE service_id = @service_id");
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        // Newest first along the primary key (ids are UUIDv7); the state is a filter on the rows it reads, which is
        // cheap while that state is common among recent workflows (running and finished ones are).
        AndWhere(sql, command, "state =", "state", DbType.Int32, (int?)state);
        AndWhere(sql, command, "workflow_id <", "after", DbType.String, after?.ToString());
        sql.Append(" ORDER BY workflow_id DESC LIMIT @limit");
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        command.CommandText = sql.ToString();
        var rows = new List<StoredWorkflowRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(new StoredWorkflowRow(new WorkflowId(Guid.Parse(reader.GetString(0))), (WorkflowState)ReadInt32(reader, 1), (byte[])reader.GetValue(2)));
        return rows;
    }

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

        return await SaveInRoundsAsync(records, static r => r.Id, SaveWorkflowRoundAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a round of records (each id at most once), adding those refused to <paramref name="conflicts"/>.</summary>
    private protected abstract Task SaveWorkflowRoundAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken);

    // One statement per record.
    private protected async Task SaveWorkflowsEachAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken)
    {
        foreach (var record in round)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = record.Version == 1 ? InsertWorkflowSql : UpdateWorkflowSql;
            AddParameter(command, "service_id", DbType.String).Value = ServiceId;
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

    public async Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<WorkflowId, StoredWorkflowState>(ids.Count);
        if (ids.Count == 0)
            return found;

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        await ReadWorkflowsAsync(command, ids, found, cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Reads the rows of <paramref name="ids"/> with <paramref name="command"/> (service id bound) into <paramref name="found"/>, using <see cref="ReadWorkflowRowsAsync"/>.</summary>
    private protected abstract Task ReadWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, Dictionary<WorkflowId, StoredWorkflowState> found,
        CancellationToken cancellationToken);

    // Rows of (workflow_id, version, data).
    private protected static async Task ReadWorkflowRowsAsync(DbCommand command, Dictionary<WorkflowId, StoredWorkflowState> found, CancellationToken cancellationToken)
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
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "at", DbType.Int64).Value = at.UtcTicks;
        await TouchWorkflowsAsync(command, ids, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the touch with <paramref name="command"/> (service id and time bound) for <paramref name="ids"/>.</summary>
    private protected abstract Task TouchWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken);

    public async Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, WorkflowRecord.Buckets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ListWatchedWorkflowsSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
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
