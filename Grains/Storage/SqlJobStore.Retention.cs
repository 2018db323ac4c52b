using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// Retention (sql/<vendor>/0009_retention.sql, 0014_open_rows.sql): finished jobs and workflows deleted in small batches, oldest first.
public abstract partial class SqlJobStore
{
    // The state is a literal, so that the planner can match the partial index ix_scheduler_jobs_ended (over the
    // generated columns, NULL while a job is open: version 14); the outer conditions repeat the inner ones, and are
    // checked again on the row being deleted: a row a grain wrote after the batch was chosen (a requeued dead letter)
    // is no longer a candidate and stays.
    internal static string PruneJobsSql(JobState state) => $"""
        DELETE FROM scheduler_jobs
        WHERE service_id = @service_id AND job_id IN (
                SELECT job_id FROM scheduler_jobs
                WHERE service_id = @service_id AND ended_state = {(int)state} AND ended_at < @before
                    AND ended_state IS NOT NULL AND workflow_id IS NULL
                ORDER BY ended_at
                LIMIT @limit)
            AND ended_state = {(int)state} AND ended_at < @before AND workflow_id IS NULL
        RETURNING job_id
        """;

    // A workflow with an open job is skipped (a finished workflow has none, unless a rerun is under way).
    private static string PruneWorkflowsSql(WorkflowState state) => $"""
        DELETE FROM scheduler_workflows
        WHERE service_id = @service_id AND workflow_id IN (
                SELECT w.workflow_id FROM scheduler_workflows AS w
                WHERE w.service_id = @service_id AND w.state = {(int)state} AND w.updated_at < @before
                    AND w.state IN ({FinalStates})
                    AND NOT EXISTS (
                        SELECT 1 FROM scheduler_jobs AS j
                        WHERE j.service_id = @service_id AND j.workflow_id = w.workflow_id
                            AND j.state IN ({(int)JobState.Queued}, {(int)JobState.Running}))
                ORDER BY w.updated_at
                LIMIT @limit)
            AND state = {(int)state} AND updated_at < @before
        RETURNING workflow_id
        """;

    // Job and workflow states share their final numbers (3 Succeeded, 4 Failed, 5 Cancelled): the partial indexes' list.
    private static readonly string FinalStates = $"{(int)JobState.Succeeded}, {(int)JobState.Failed}, {(int)JobState.Cancelled}";

    private const string DeleteWorkflowJobsSql = """
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND workflow_id = @workflow_id RETURNING job_id
        """;

    private const string DeleteJobHistorySql = """
        DELETE FROM scheduler_job_history WHERE service_id = @service_id AND job_id = @job_id
        """;

    private const string DeleteJobLogSql = """
        DELETE FROM scheduler_job_logs WHERE service_id = @service_id AND job_id = @job_id
        """;

    /// <inheritdoc />
    /// <remarks>One transaction per call: the rows, then their history and log.</remarks>
    public async Task<int> PruneJobsAsync(JobState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default)
    {
        if (!state.IsFinal())
            throw new ArgumentOutOfRangeException(nameof(state), state, "Only finished jobs (Succeeded, Failed, Cancelled) are pruned.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var jobIds = await DeleteReturningAsync(connection, transaction, PruneJobsSql(state), before, limit, cancellationToken).ConfigureAwait(false);
        if (jobIds.Count > 0)
            await DeleteJobTrailsAsync(connection, transaction, jobIds, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return jobIds.Count;
    }

    /// <inheritdoc />
    /// <remarks>One transaction per call: the workflows, their jobs, then the jobs' history and logs.</remarks>
    public async Task<PrunedWorkflows> PruneWorkflowsAsync(WorkflowState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default)
    {
        if (state is not (WorkflowState.Succeeded or WorkflowState.Failed or WorkflowState.Cancelled))
            throw new ArgumentOutOfRangeException(nameof(state), state, "Only finished workflows (Succeeded, Failed, Cancelled) are pruned.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var workflowIds = await DeleteReturningAsync(connection, transaction, PruneWorkflowsSql(state), before, limit, cancellationToken).ConfigureAwait(false);
        var jobIds = workflowIds.Count == 0
            ? []
            : await DeleteWorkflowJobsAsync(connection, transaction, workflowIds, cancellationToken).ConfigureAwait(false);
        if (jobIds.Count > 0)
            await DeleteJobTrailsAsync(connection, transaction, jobIds, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new PrunedWorkflows(workflowIds.Count, jobIds.Count);
    }

    private async Task<List<string>> DeleteReturningAsync(DbConnection connection, DbTransaction transaction, string sql, DateTimeOffset before, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "before", DbType.Int64).Value = before.UtcTicks;
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        return await ReadStringsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private protected static async Task<List<string>> ReadStringsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            values.Add(reader.GetString(0));
        return values;
    }

    /// <summary>Deletes the job rows of the given workflows; returns the ids of the jobs deleted. Statement per workflow here.</summary>
    private protected virtual async Task<List<string>> DeleteWorkflowJobsAsync(DbConnection connection, DbTransaction transaction,
        List<string> workflowIds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = DeleteWorkflowJobsSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        var workflowId = AddParameter(command, "workflow_id", DbType.String);
        var jobIds = new List<string>();
        foreach (var id in workflowIds)
        {
            workflowId.Value = id;
            jobIds.AddRange(await ReadStringsAsync(command, cancellationToken).ConfigureAwait(false));
        }
        return jobIds;
    }

    /// <summary>Deletes the history and log of the given jobs (whose rows are gone). Statements per job here.</summary>
    private protected virtual async Task DeleteJobTrailsAsync(DbConnection connection, DbTransaction transaction, List<string> jobIds,
        CancellationToken cancellationToken)
    {
        foreach (var sql in new[] { DeleteJobHistorySql, DeleteJobLogSql })
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            AddParameter(command, "service_id", DbType.String).Value = ServiceId;
            var jobId = AddParameter(command, "job_id", DbType.String);
            foreach (var id in jobIds)
            {
                jobId.Value = id;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
