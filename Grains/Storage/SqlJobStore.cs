using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Scheduler.Storage;

/// <summary>
/// <see cref="IJobStore"/> over the <c>scheduler_jobs</c> and <c>scheduler_job_logs</c> tables (see
/// <c>sql/&lt;vendor&gt;/0002_scheduler.sql</c>), through any ADO.NET provider's <see cref="DbDataSource"/>.
/// The SQL is plain enough to run on SQLite and PostgreSQL alike. Timestamps are stored as UTC ticks.
/// Every row is scoped by the service id given to the constructor.
/// </summary>
public sealed class SqlJobStore : IJobStore
{
    private const string UpsertJobSql = """
        INSERT INTO scheduler_jobs
            (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at)
        VALUES (@service_id, @job_id, @queue, @shard, @priority, @tenant, @handler, @state, @attempt, @created_at, @updated_at)
        ON CONFLICT (service_id, job_id) DO UPDATE SET
            queue = excluded.queue,
            shard = excluded.shard,
            priority = excluded.priority,
            tenant = excluded.tenant,
            handler = excluded.handler,
            state = excluded.state,
            attempt = excluded.attempt,
            updated_at = excluded.updated_at
        """;

    // The literal state list matches the partial index ix_scheduler_jobs_open.
    private const string LoadOpenSql = """
        SELECT job_id, priority, created_at
        FROM scheduler_jobs
        WHERE service_id = @service_id AND queue = @queue AND shard = @shard AND state IN (1, 2)
        ORDER BY priority DESC, created_at, job_id
        """;

    private const string CountByStateSql = """
        SELECT state, COUNT(*) FROM scheduler_jobs WHERE service_id = @service_id GROUP BY state
        """;

    private const string AppendHistorySql = """
        INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
        VALUES (@service_id, @job_id, @ts, @state, @attempt, @silo, @reason)
        """;

    private const string ReadHistorySql = """
        SELECT ts, state, attempt, silo, reason
        FROM scheduler_job_history
        WHERE service_id = @service_id AND job_id = @job_id
        ORDER BY seq
        """;

    private const string AppendLogSql = """
        INSERT INTO scheduler_job_logs (service_id, job_id, attempt, stream, ts, text)
        VALUES (@service_id, @job_id, @attempt, @stream, @ts, @text)
        """;

    private const string ReadLogSql = """
        SELECT seq, ts, attempt, stream, text
        FROM scheduler_job_logs
        WHERE service_id = @service_id AND job_id = @job_id AND seq > @after
        ORDER BY seq
        LIMIT @max
        """;

    private readonly DbDataSource _dataSource;
    private readonly string _serviceId;

    public SqlJobStore(DbDataSource dataSource, string serviceId)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        _dataSource = dataSource;
        _serviceId = serviceId;
    }

    /// <summary>The service id every row this store reads or writes is scoped by.</summary>
    public string ServiceId => _serviceId;

    /// <inheritdoc />
    /// <remarks>All records in one transaction, applied in order: a later record for the same id wins.</remarks>
    public async Task SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            return;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = UpsertJobSql;
        var serviceId = AddParameter(command, "service_id", DbType.String);
        var jobId = AddParameter(command, "job_id", DbType.String);
        var queue = AddParameter(command, "queue", DbType.String);
        var shard = AddParameter(command, "shard", DbType.Int32);
        var priority = AddParameter(command, "priority", DbType.Int32);
        var tenant = AddParameter(command, "tenant", DbType.String);
        var handler = AddParameter(command, "handler", DbType.String);
        var state = AddParameter(command, "state", DbType.Int32);
        var attempt = AddParameter(command, "attempt", DbType.Int32);
        var createdAt = AddParameter(command, "created_at", DbType.Int64);
        var updatedAt = AddParameter(command, "updated_at", DbType.Int64);
        serviceId.Value = _serviceId;

        await using var history = connection.CreateCommand();
        history.Transaction = transaction;
        history.CommandText = AppendHistorySql;
        AddParameter(history, "service_id", DbType.String).Value = _serviceId;
        var historyJobId = AddParameter(history, "job_id", DbType.String);
        var historyTs = AddParameter(history, "ts", DbType.Int64);
        var historyState = AddParameter(history, "state", DbType.Int32);
        var historyAttempt = AddParameter(history, "attempt", DbType.Int32);
        var historySilo = AddParameter(history, "silo", DbType.String);
        var historyReason = AddParameter(history, "reason", DbType.String);

        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            historyJobId.Value = record.Id.ToString();
            historyTs.Value = record.UpdatedAt.UtcTicks;
            historyState.Value = (int)record.State;
            historyAttempt.Value = record.Attempt;
            historySilo.Value = (object?)record.Silo ?? DBNull.Value;
            historyReason.Value = (object?)record.Reason ?? DBNull.Value;
            await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            jobId.Value = record.Id.ToString();
            queue.Value = record.Queue;
            shard.Value = record.Shard;
            priority.Value = record.Priority;
            tenant.Value = record.Tenant;
            handler.Value = record.Handler;
            state.Value = (int)record.State;
            attempt.Value = record.Attempt;
            createdAt.Value = record.CreatedAt.UtcTicks;
            updatedAt.Value = record.UpdatedAt.UtcTicks;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<QueueEntry>> LoadOpenAsync(string queue, int shard, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = LoadOpenSql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "queue", DbType.String).Value = queue;
        AddParameter(command, "shard", DbType.Int32).Value = shard;

        var entries = new List<QueueEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new QueueEntry(ReadJobId(reader, 0), ReadInt32(reader, 1), reader.GetInt64(2)));
        }
        return entries;
    }

    public async Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var limit = filter.Limit is > 0 and <= JobFilter.MaxLimit
            ? filter.Limit
            : throw new ArgumentOutOfRangeException(nameof(filter), filter.Limit, $"Limit must be 1 to {JobFilter.MaxLimit}.");

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("""
            SELECT job_id, state, handler, queue, priority, tenant, attempt, created_at, updated_at
            FROM scheduler_jobs
            WHERE service_id = @service_id
            """);
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        // Only the filters given go into the statement, so the planner can pick the matching index.
        if (filter.State is { } state)
        {
            sql.Append(" AND state = @state");
            AddParameter(command, "state", DbType.Int32).Value = (int)state;
        }
        if (filter.Queue is { } queue)
        {
            sql.Append(" AND queue = @queue");
            AddParameter(command, "queue", DbType.String).Value = queue;
        }
        if (filter.Tenant is { } tenant)
        {
            sql.Append(" AND tenant = @tenant");
            AddParameter(command, "tenant", DbType.String).Value = tenant;
        }
        if (filter.Handler is { } handler)
        {
            sql.Append(" AND handler = @handler");
            AddParameter(command, "handler", DbType.String).Value = handler;
        }
        sql.Append(" ORDER BY created_at DESC, job_id DESC LIMIT @limit");
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        command.CommandText = sql.ToString();

        var rows = new List<JobSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new JobSummary
            {
                Id = ReadJobId(reader, 0),
                State = (JobState)ReadInt32(reader, 1),
                Handler = reader.GetString(2),
                Queue = reader.GetString(3),
                Priority = ReadInt32(reader, 4),
                Tenant = reader.GetString(5),
                Attempt = ReadInt32(reader, 6),
                CreatedAt = FromTicks(reader.GetInt64(7)),
                UpdatedAt = FromTicks(reader.GetInt64(8)),
            });
        }
        return rows;
    }

    public async Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = CountByStateSql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;

        var counts = new Dictionary<JobState, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[(JobState)ReadInt32(reader, 0)] = reader.GetInt64(1);
        }
        return counts;
    }

    /// <inheritdoc />
    /// <remarks>All lines in one transaction, in the order given.</remarks>
    public async Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
            return;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = AppendLogSql;
        var serviceId = AddParameter(command, "service_id", DbType.String);
        var jobId = AddParameter(command, "job_id", DbType.String);
        var attempt = AddParameter(command, "attempt", DbType.Int32);
        var stream = AddParameter(command, "stream", DbType.Int32);
        var ts = AddParameter(command, "ts", DbType.Int64);
        var text = AddParameter(command, "text", DbType.String);
        serviceId.Value = _serviceId;

        foreach (var line in lines)
        {
            ArgumentNullException.ThrowIfNull(line, nameof(lines));
            jobId.Value = line.Id.ToString();
            attempt.Value = line.Attempt;
            stream.Value = (int)line.Stream;
            ts.Value = line.Timestamp.UtcTicks;
            text.Value = line.Text ?? string.Empty;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadLogSql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "job_id", DbType.String).Value = id.ToString();
        AddParameter(command, "after", DbType.Int64).Value = afterSequence;
        AddParameter(command, "max", DbType.Int32).Value = max;

        var lines = new List<JobLogLine>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lines.Add(new JobLogLine
            {
                Sequence = reader.GetInt64(0),
                Timestamp = FromTicks(reader.GetInt64(1)),
                Attempt = ReadInt32(reader, 2),
                Stream = (LogStream)ReadInt32(reader, 3),
                Text = reader.GetString(4),
            });
        }
        return lines;
    }

    public async Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadHistorySql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AddParameter(command, "job_id", DbType.String).Value = id.ToString();

        var transitions = new List<JobTransition>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            transitions.Add(new JobTransition
            {
                Timestamp = FromTicks(reader.GetInt64(0)),
                State = (JobState)ReadInt32(reader, 1),
                Attempt = ReadInt32(reader, 2),
                Silo = reader.IsDBNull(3) ? null : reader.GetString(3),
                Reason = reader.IsDBNull(4) ? null : reader.GetString(4),
            });
        }
        return transitions;
    }

    private static DbParameter AddParameter(DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private static JobId ReadJobId(DbDataReader reader, int ordinal) =>
        new(Guid.ParseExact(reader.GetString(ordinal), "d"));

    // SQLite hands back every integer as 64-bit; PostgreSQL as the column's type. Convert covers both.
    private static int ReadInt32(DbDataReader reader, int ordinal) =>
        Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static DateTimeOffset FromTicks(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
