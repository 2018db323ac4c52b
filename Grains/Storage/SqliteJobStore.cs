using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

/// <summary>
/// <see cref="SqlJobStore"/> on SQLite (the embedded profile): one plain statement per row and table, which is cheap
/// where the database is in-process; a batch shares one transaction.
/// </summary>
public sealed class SqliteJobStore(DbDataSource dataSource, string serviceId) : SqlJobStore(dataSource, serviceId)
{
    private const string AppendHistorySql = """
        INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
        VALUES (@service_id, @job_id, @ts, @state, @attempt, @silo, @reason)
        """;

    private const string ReadStateSql = """
        SELECT job_id, version, data FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id
        """;

    private const string ReadWorkflowSql = """
        SELECT workflow_id, version, data FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = @workflow_id
        """;

    private const string TouchWorkflowSql = """
        UPDATE scheduler_workflows SET updated_at = @at WHERE service_id = @service_id AND workflow_id = @workflow_id AND updated_at < @at
        """;

    // A job's row and its history are two statements.
    private protected override bool IsOneStatement(IReadOnlyList<JobRecord> records) => false;

    private protected override async Task<IReadOnlyList<JobId>> SaveJobsAsync(
        DbConnection connection, DbTransaction? transaction, IReadOnlyList<JobRecord> records, CancellationToken cancellationToken)
    {
        await using var upsert = CreateJobCommand(connection, transaction, UpsertJobSql);
        await using var update = CreateJobCommand(connection, transaction, UpdateJobSql);

        await using var history = connection.CreateCommand();
        history.Transaction = transaction;
        history.CommandText = AppendHistorySql;
        AddParameter(history, "service_id", DbType.String).Value = ServiceId;
        var historyJobId = AddParameter(history, "job_id", DbType.String);
        var historyTs = AddParameter(history, "ts", DbType.Int64);
        var historyState = AddParameter(history, "state", DbType.Int32);
        var historyAttempt = AddParameter(history, "attempt", DbType.Int32);
        var historySilo = AddParameter(history, "silo", DbType.String);
        var historyReason = AddParameter(history, "reason", DbType.String);

        List<JobId>? conflicts = null;
        foreach (var record in records)
        {
            var command = record.Version <= 1 ? upsert : update;
            SetJobParameters(command, record);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                (conflicts ??= []).Add(record.Id);
                continue;
            }
            historyJobId.Value = record.Id.ToString();
            if (StoredQueuedAt(record) is { } queuedAt)
            {
                historyTs.Value = queuedAt.UtcTicks;
                historyState.Value = (int)JobState.Queued;
                historyAttempt.Value = 0;
                historySilo.Value = DBNull.Value;
                historyReason.Value = DBNull.Value;
                await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (FirstQueuedIsDerived(record))
                continue;
            historyTs.Value = record.UpdatedAt.UtcTicks;
            historyState.Value = (int)record.State;
            historyAttempt.Value = record.Attempt;
            historySilo.Value = (object?)record.Silo ?? DBNull.Value;
            historyReason.Value = (object?)record.Reason ?? DBNull.Value;
            await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return conflicts ?? [];
    }

    private protected override async Task ReadStatesAsync(DbCommand command, IReadOnlyList<JobId> ids, Dictionary<JobId, StoredJobState> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadStateSql;
        var jobId = AddParameter(command, "job_id", DbType.String);
        foreach (var id in ids)
        {
            jobId.Value = id.ToString();
            await ReadStateRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
        }
    }

    private protected override Task SaveWorkflowRoundAsync(DbConnection connection, DbTransaction? transaction, List<WorkflowRecord> round,
        List<WorkflowId> conflicts, CancellationToken cancellationToken) =>
        SaveWorkflowsEachAsync(connection, transaction, round, conflicts, cancellationToken);

    private protected override async Task ReadWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, Dictionary<WorkflowId, StoredWorkflowState> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadWorkflowSql;
        var workflowId = AddParameter(command, "workflow_id", DbType.String);
        foreach (var id in ids)
        {
            workflowId.Value = id.ToString();
            await ReadWorkflowRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
        }
    }

    private protected override async Task TouchWorkflowsAsync(DbCommand command, IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken)
    {
        await using var transaction = await command.Connection!.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        command.Transaction = transaction;
        command.CommandText = TouchWorkflowSql;
        var workflowId = AddParameter(command, "workflow_id", DbType.String);
        foreach (var id in ids.Distinct())
        {
            workflowId.Value = id.ToString();
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
