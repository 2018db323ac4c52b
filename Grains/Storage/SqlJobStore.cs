using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Scheduler.Storage;

/// <summary>
/// <see cref="ISchedulerStore"/> over Scheduler's tables (<c>scheduler_jobs</c>, <c>scheduler_job_history</c>,
/// <c>scheduler_job_logs</c>, <c>scheduler_workflows</c>; see <c>sql/&lt;vendor&gt;/</c>), through any ADO.NET
/// provider's <see cref="DbDataSource"/>: the SQL that SQLite and PostgreSQL share. What differs, how a batch of rows
/// is written and read, is in <see cref="SqliteJobStore"/> and <see cref="PostgresJobStore"/>.
/// Timestamps are stored as UTC ticks; enums as their numbers, taken from the enums when the SQL is built.
/// Every row is scoped by the service id given to the constructor.
/// </summary>
public abstract partial class SqlJobStore : ISchedulerStore
{
    // Version 0 writes unconditionally (and keeps the stored version); version 1 creates the row, or takes over a
    // row still at version 0; higher versions go through UpdateJobSql. See IJobStore.SaveAsync.
    private protected static string OnConflictUpdate(string row) => $"""
        ON CONFLICT (service_id, job_id) DO UPDATE SET
            queue = excluded.queue, shard = excluded.shard, priority = excluded.priority, tenant = excluded.tenant,
            handler = excluded.handler, state = excluded.state, attempt = excluded.attempt, updated_at = excluded.updated_at,
            version = CASE WHEN excluded.version = 0 THEN {row}.version ELSE excluded.version END,
            data = excluded.data, queued_as_of = excluded.queued_as_of, size_hint = excluded.size_hint,
            not_before = excluded.not_before, workflow_id = excluded.workflow_id
        WHERE excluded.version = 0 OR {row}.version = excluded.version - 1
        """;

    private protected static readonly string UpsertJobSql = $"""
        INSERT INTO scheduler_jobs
            (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data,
             queued_as_of, size_hint, not_before, workflow_id)
        VALUES (@service_id, @job_id, @queue, @shard, @priority, @tenant, @handler, @state, @attempt, @created_at, @updated_at, @version, @data,
                @queued_as_of, @size_hint, @not_before, @workflow_id)
        {OnConflictUpdate("scheduler_jobs")}
        """;

    private protected const string UpdateJobSql = """
        UPDATE scheduler_jobs SET
            queue = @queue, shard = @shard, priority = @priority, tenant = @tenant, handler = @handler, state = @state,
            attempt = @attempt, updated_at = @updated_at, version = @version, data = @data,
            queued_as_of = @queued_as_of, size_hint = @size_hint, not_before = @not_before, workflow_id = @workflow_id
        WHERE service_id = @service_id AND job_id = @job_id AND version = @version - 1
        """;

    // "ended_state IS NULL" matches the partial index ix_scheduler_jobs_unended, whose order the rows come in:
    // the shard orders them by their entries, and keeps this order (creation, then id) among equal entries. Jobs due
    // later are filtered from the rows the index finds: few of a shard's open rows are delayed.
    // The open rows' partial index (ix_scheduler_jobs_unended) serves this order. A page after a position reads on in
    // the position's priority from its creation time, then (if the page is not full) the lower priorities: each an
    // index range that starts where the last page ended, so a deep page costs what the first does.
    private static readonly string LoadOpenSql = $"""
        SELECT job_id, priority, COALESCE(queued_as_of, created_at), size_hint, tenant, created_at
        FROM scheduler_jobs
        WHERE service_id = @service_id AND queue = @queue AND shard = @shard AND ended_state IS NULL
            AND (not_before IS NULL OR not_before < @due_before)
        """;

    private const string LoadOpenSameLevelSql = """

            AND priority = @after_priority AND created_at >= @after_created AND (created_at > @after_created OR job_id > @after_id)
        ORDER BY created_at, job_id
        LIMIT @limit
        """;

    private const string LoadOpenLowerSql = """

            AND priority < @after_priority
        ORDER BY priority DESC, created_at, job_id
        LIMIT @limit
        """;

    private const string LoadOpenFirstSql = """

        ORDER BY priority DESC, created_at, job_id
        LIMIT @limit
        """;

    private const string CountByStateSql = """
        SELECT state, COUNT(*) FROM scheduler_jobs WHERE service_id = @service_id GROUP BY state
        """;

    // The job row's creation first (seq -1): the Queued transition a job is created with is not stored (see
    // FirstQueuedIsDerived), unless written before that (then it is the next row, and the derived one is dropped).
    private static readonly string ReadHistorySql = $"""
        SELECT created_at AS ts, {(int)JobState.Queued} AS state, 0 AS attempt, CAST(NULL AS text) AS silo, CAST(NULL AS text) AS reason, -1 AS seq
        FROM scheduler_jobs
        WHERE service_id = @service_id AND job_id = @job_id
        UNION ALL
        SELECT ts, state, attempt, silo, reason, seq
        FROM scheduler_job_history
        WHERE service_id = @service_id AND job_id = @job_id
        ORDER BY 6
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

    // The last error of a dead-lettered job is the reason of its last transition (into Failed).
    private static readonly string ListFailedSql = $"""
        SELECT j.job_id, j.handler, j.queue, j.tenant, j.priority, j.attempt, j.created_at, j.updated_at,
            (SELECT h.reason FROM scheduler_job_history h
             WHERE h.service_id = j.service_id AND h.job_id = j.job_id
             ORDER BY h.seq DESC LIMIT 1) AS last_error
        FROM scheduler_jobs j
        WHERE j.service_id = @service_id AND j.ended_state = {(int)JobState.Failed}
        """;

    private static readonly string PurgeJobSql = $"""
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id AND state = {(int)JobState.Failed}
        """;

    // History and log go with the row: only when no row of the job is left (it was just purged, or was already gone).
    private const string PurgeHistorySql = """
        DELETE FROM scheduler_job_history WHERE service_id = @service_id AND job_id = @job_id
            AND NOT EXISTS (SELECT 1 FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id)
        """;

    private const string PurgeLogSql = """
        DELETE FROM scheduler_job_logs WHERE service_id = @service_id AND job_id = @job_id
            AND NOT EXISTS (SELECT 1 FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id)
        """;

    private protected SqlJobStore(DbDataSource dataSource, string serviceId)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        DataSource = dataSource;
        ServiceId = serviceId;
    }

    /// <summary>The service id every row this store reads or writes is scoped by.</summary>
    public string ServiceId { get; }

    private protected DbDataSource DataSource { get; }

    /// <summary>
    /// Writes versioned rows in rounds that hold each key at most once (one statement may not change a row twice),
    /// in order. One record is one statement, atomic by itself; more share a transaction (a batch statement may need a
    /// second one: see PostgresJobStore). Returns the keys whose write was refused.
    /// </summary>
    private async Task<IReadOnlyList<TKey>> SaveInRoundsAsync<TRecord, TKey>(IReadOnlyList<TRecord> records, Func<TRecord, TKey> keyOf,
        Func<DbConnection, DbTransaction?, List<TRecord>, List<TKey>, CancellationToken, Task> saveRound, CancellationToken cancellationToken)
        where TKey : notnull
    {
        var rounds = new List<List<TRecord>> { new() };
        var seen = new HashSet<TKey>();
        foreach (var record in records)
        {
            if (!seen.Add(keyOf(record)))
            {
                rounds.Add([]);
                seen.Clear();
                seen.Add(keyOf(record));
            }
            rounds[^1].Add(record);
        }

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = rounds is [[_]] ? null : await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var conflicts = new List<TKey>();
        foreach (var round in rounds)
            await saveRound(connection, transaction, round, conflicts, cancellationToken).ConfigureAwait(false);
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return conflicts;
    }

    /// <inheritdoc />
    /// <remarks>All records in one transaction, applied in order: a later record for the same id wins.</remarks>
    public async Task<IReadOnlyList<JobId>> SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            ArgumentOutOfRangeException.ThrowIfNegative(record.Version, nameof(records));
        }
        if (records.Count == 0)
            return [];

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // A write that is one statement is atomic by itself: no BEGIN and COMMIT around it (a round trip less on the
        // hot path).
        if (IsOneStatement(records))
            return await SaveJobsAsync(connection, null, records, cancellationToken).ConfigureAwait(false);

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var conflicts = await SaveJobsAsync(connection, transaction, records, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return conflicts;
    }

    /// <summary>Whether the dialect writes these records (rows and history) in a single statement.</summary>
    private protected abstract bool IsOneStatement(IReadOnlyList<JobRecord> records);

    /// <summary>Writes the records and their history (see <see cref="IJobStore.SaveAsync"/>); returns the conflicts.</summary>
    private protected abstract Task<IReadOnlyList<JobId>> SaveJobsAsync(
        DbConnection connection, DbTransaction? transaction, IReadOnlyList<JobRecord> records, CancellationToken cancellationToken);

    public async Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<JobId, StoredJobState>(ids.Count);
        if (ids.Count == 0)
            return found;

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        await ReadStatesAsync(command, ids, found, cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Reads the rows of <paramref name="ids"/> with <paramref name="command"/> (service id bound) into <paramref name="found"/>, using <see cref="ReadStateRowsAsync"/>.</summary>
    private protected abstract Task ReadStatesAsync(DbCommand command, IReadOnlyList<JobId> ids, Dictionary<JobId, StoredJobState> found,
        CancellationToken cancellationToken);

    // Rows of (job_id, version, data).
    private protected static async Task ReadStateRowsAsync(DbCommand command, Dictionary<JobId, StoredJobState> found, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found[ReadJobId(reader, 0)] = new StoredJobState(ReadInt32(reader, 1), reader.IsDBNull(2) ? null : (byte[])reader.GetValue(2));
        }
    }

    public async Task<OpenRowsPage> LoadOpenPageAsync(string queue, int shard, DateTimeOffset dueBefore, OpenRowPosition? after, int limit,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<QueueEntry>(Math.Min(limit, OpenRowsPage.DefaultSize));
        OpenRowPosition? last = after;
        foreach (var part in after is null ? [LoadOpenFirstSql] : new[] { LoadOpenSameLevelSql, LoadOpenLowerSql })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = LoadOpenSql + part;
            AddParameter(command, "service_id", DbType.String).Value = ServiceId;
            AddParameter(command, "queue", DbType.String).Value = queue;
            AddParameter(command, "shard", DbType.Int32).Value = shard;
            AddParameter(command, "due_before", DbType.Int64).Value = dueBefore.UtcTicks;
            AddParameter(command, "limit", DbType.Int32).Value = limit - entries.Count;
            if (after is { } position)
            {
                AddParameter(command, "after_priority", DbType.Int32).Value = position.Priority;
                AddParameter(command, "after_created", DbType.Int64).Value = position.CreatedAtTicks;
                AddParameter(command, "after_id", DbType.String).Value = position.Id.ToString();
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var entry = new QueueEntry(ReadJobId(reader, 0), ReadInt32(reader, 1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4));
                entries.Add(entry);
                last = new OpenRowPosition(entry.Priority, reader.GetInt64(5), entry.Id);
            }
            if (entries.Count == limit)
                break;
        }
        return new OpenRowsPage(entries, entries.Count < limit ? null : last);
    }

    // ended_state's values once a job is final (see sql/<vendor>/0014_open_rows.sql); NULL while open.
    private static readonly int[] FinalStateValues = [(int)JobState.Succeeded, (int)JobState.Failed, (int)JobState.Cancelled];

    public Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) =>
        ListAsync(filter, null, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// No index holds a job's state (version 14: a start updates the row in place), so Running rows among a large
    /// backlog are found by key: the listing's own statement, limited to the given ids.
    /// </remarks>
    public Task<IReadOnlyList<JobSummary>> ListRunningAsync(JobFilter filter, IReadOnlyCollection<JobId> running, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(running);
        return ListAsync(filter with { State = JobState.Running }, running, cancellationToken);
    }

    private async Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, IReadOnlyCollection<JobId>? among, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var limit = CheckLimit(filter.Limit, nameof(filter));
        if (among is { Count: 0 })
            return [];

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("""
            SELECT job_id, state, handler, queue, priority, tenant, attempt, created_at, updated_at, not_before
            FROM scheduler_jobs
            WHERE service_id = @service_id
            """);
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        // No index holds state (version 14): open states are found through the open rows' partial index
        // (ix_scheduler_jobs_unended_created), final ones through ix_scheduler_jobs_ended_created.
        // Among given ids, neither: the rows are found by key (the planner, with statistics from before a backlog
        // built up, took the open rows' index in listing order and read all of it: 0.3-0.9 s behind 300,000 jobs).
        var keyed = among is not null;
        if (filter.State is JobState.Queued or JobState.Running && !keyed)
            sql.Append(" AND ended_state IS NULL");
        AndWhere(sql, command, filter.State?.IsFinal() == true ? "ended_state =" : "state =", "state", DbType.Int32, (int?)filter.State);
        if (among is not null)
        {
            sql.Append(" AND job_id IN (");
            var i = 0;
            foreach (var id in among)
            {
                sql.Append(i == 0 ? "@among0" : $", @among{i}");
                AddParameter(command, $"among{i}", DbType.String).Value = id.ToString();
                i++;
            }
            sql.Append(')');
        }
        // Among ids, the other filters are written as expressions no index holds, so the rows are found by key: with
        // "tenant =" the planner scanned the tenant's index behind a backlog (0.4-0.9 s at a million); "+ 0" keeps
        // created_at, and the order, off every index too: the few rows found by key are sorted.
        AndWhere(sql, command, keyed ? "queue || '' =" : "queue =", "queue", DbType.String, filter.Queue);
        AndWhere(sql, command, keyed ? "tenant || '' =" : "tenant =", "tenant", DbType.String, filter.Tenant);
        AndWhere(sql, command, keyed ? "handler || '' =" : "handler =", "handler", DbType.String, filter.Handler);
        // The time range bounds created_at, the column every listing index orders by after its equality prefix, so
        // the scan starts and stops inside the range. An id prefix is a range of the primary key.
        var createdAt = keyed ? "created_at + 0" : "created_at";
        AndWhere(sql, command, $"{createdAt} >=", "created_from", DbType.Int64, filter.CreatedAfter?.UtcTicks);
        AndWhere(sql, command, $"{createdAt} <", "created_to", DbType.Int64, filter.CreatedBefore?.UtcTicks);
        if (filter.IdRange() is var (low, high))
        {
            sql.Append(" AND job_id BETWEEN @id_low AND @id_high");
            AddParameter(command, "id_low", DbType.String).Value = low;
            AddParameter(command, "id_high", DbType.String).Value = high;
        }
        if (filter.Text is { } text)
        {
            // lower() on both sides: LIKE ignores case in SQLite and not in PostgreSQL; '!' escapes the text's wildcards.
            sql.Append(" AND (lower(handler) LIKE @text ESCAPE '!' OR lower(tenant) LIKE @text ESCAPE '!'");
            AddParameter(command, "text", DbType.String).Value =
                text.ToLowerInvariant().Replace("!", "!!", StringComparison.Ordinal).Replace("%", "!%", StringComparison.Ordinal).Replace("_", "!_", StringComparison.Ordinal) + "%";
            if (filter.TextIdRange() is var (textLow, textHigh))
            {
                sql.Append(" OR job_id BETWEEN @text_low AND @text_high");
                AddParameter(command, "text_low", DbType.String).Value = textLow;
                AddParameter(command, "text_high", DbType.String).Value = textHigh;
            }
            sql.Append(')');
        }
        if (filter.After is { } after)
        {
            // Keyset pagination in the listing's own order, so a page costs the same however deep it is.
            // A row comparison, which the index scans from the position (an OR of the two made PostgreSQL read every
            // newer row first: 0.6 s for a page in the middle of a million).
            sql.Append($" AND ({createdAt}, job_id) < (@after_created, @after_id)");
            AddParameter(command, "after_created", DbType.Int64).Value = after.CreatedAt.UtcTicks;
            AddParameter(command, "after_id", DbType.String).Value = after.Id.ToString();
        }
        var order = $" ORDER BY {createdAt} DESC, job_id DESC LIMIT @limit";
        if (filter.State is null && !keyed && filter.Queue is null && filter.Tenant is null && filter.Handler is null)
        {
            // No index holds all of a service's jobs by creation (version 15 dropped ix_scheduler_jobs_created: two
            // index entries less per job). The open rows' index and the finished rows' one per final state each give
            // their newest rows in order; the page is the newest of those (ended_state is NULL or a final state).
            var where = sql.ToString();
            sql.Clear();
            var parts = new[] { " AND ended_state IS NULL" }.Concat(FinalStateValues.Select(state => $" AND ended_state = {state}"));
            sql.AppendJoin(" UNION ALL ", parts.Select((part, i) => $"SELECT * FROM ({where}{part}{order}) AS p{i}"));
        }
        sql.Append(order);
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
                NextAttemptAt = reader.IsDBNull(9) ? null : FromTicks(reader.GetInt64(9)),
            });
        }
        return rows;
    }

    public async Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = CountByStateSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;

        var counts = new Dictionary<JobState, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[(JobState)ReadInt32(reader, 0)] = reader.GetInt64(1);
        }
        return counts;
    }

    // Over the open rows' partial index (ix_scheduler_jobs_unended: the same predicate).
    private static readonly string CountQueuedSql = $"""
        SELECT queue, tenant, COUNT(*) FROM scheduler_jobs
        WHERE service_id = @service_id AND ended_state IS NULL AND state = {(int)JobState.Queued}
        GROUP BY queue, tenant
        """;

    public async Task<IReadOnlyList<QueuedCount>> CountQueuedAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = CountQueuedSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;

        var counts = new List<QueuedCount>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            counts.Add(new QueuedCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return counts;
    }

    /// <inheritdoc />
    /// <remarks>All lines in one transaction, in the order given.</remarks>
    public async Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
            return;

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
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
        serviceId.Value = ServiceId;

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

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadLogSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
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

    /// <summary>
    /// Whether this write's transition is the Queued one a job is created with (attempt 0, at its creation time, no
    /// silo or reason): that transition is not stored in the history, a row (and its index entry) less per job;
    /// <see cref="ReadHistoryAsync"/> derives it from the job row's <c>created_at</c>. History written before this
    /// (schema version 14 and older silos) holds it, and is read as it was.
    /// </summary>
    private protected static bool FirstQueuedIsDerived(JobRecord record) =>
        record is { State: JobState.Queued, Attempt: 0, Silo: null, Reason: null } && record.UpdatedAt.UtcTicks == record.CreatedAt.UtcTicks;

    /// <summary>The Queued transition to store before a first write that is not the Queued one, unless derived (at the creation time).</summary>
    private protected static DateTimeOffset? StoredQueuedAt(JobRecord record) =>
        record.QueuedAt is { } at && at.UtcTicks != record.CreatedAt.UtcTicks ? at : null;

    public async Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadHistorySql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
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
        // The derived creation (first, seq -1) and the same transition stored by a silo before version 15: one of them.
        if (transitions is [var derived, var stored, ..] && stored == derived)
            transitions.RemoveAt(0);
        return transitions;
    }

    public async Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var limit = CheckLimit(filter.Limit, nameof(filter));

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(ListFailedSql);
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AndWhere(sql, command, "j.queue =", "queue", DbType.String, filter.Queue);
        AndWhere(sql, command, "j.tenant =", "tenant", DbType.String, filter.Tenant);
        AndWhere(sql, command, "j.handler =", "handler", DbType.String, filter.Handler);
        AndWhere(sql, command, "j.updated_at <", "failed_before", DbType.Int64, filter.FailedBefore?.UtcTicks);
        sql.Append(" ORDER BY j.updated_at DESC, j.job_id DESC LIMIT @limit");
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        command.CommandText = sql.ToString();

        var rows = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var lastError = reader.IsDBNull(8) ? null : reader.GetString(8);
            rows.Add(new DeadLetter
            {
                Id = ReadJobId(reader, 0),
                Reason = DeadLetters.ReasonOf(lastError),
                LastError = lastError,
                Handler = reader.GetString(1),
                Queue = reader.GetString(2),
                Tenant = reader.GetString(3),
                Priority = ReadInt32(reader, 4),
                Attempt = ReadInt32(reader, 5),
                CreatedAt = FromTicks(reader.GetInt64(6)),
                FailedAt = FromTicks(reader.GetInt64(7)),
            });
        }
        return rows;
    }

    /// <inheritdoc />
    /// <remarks>All jobs in one transaction.</remarks>
    public async Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
            return 0;

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var commands = new List<(DbCommand Command, DbParameter JobId)>();
        try
        {
            foreach (var text in new[] { PurgeJobSql, PurgeHistorySql, PurgeLogSql })
            {
                var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = text;
                AddParameter(command, "service_id", DbType.String).Value = ServiceId;
                commands.Add((command, AddParameter(command, "job_id", DbType.String)));
            }
            var deleted = 0;
            foreach (var id in ids.Distinct())
            {
                for (var i = 0; i < commands.Count; i++)
                {
                    commands[i].JobId.Value = id.ToString();
                    var affected = await commands[i].Command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    if (i == 0)
                        deleted += affected;
                }
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return deleted;
        }
        finally
        {
            foreach (var (command, _) in commands)
                await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    private protected DbCommand CreateJobCommand(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "job_id", DbType.String);
        AddParameter(command, "queue", DbType.String);
        AddParameter(command, "shard", DbType.Int32);
        AddParameter(command, "priority", DbType.Int32);
        AddParameter(command, "tenant", DbType.String);
        AddParameter(command, "handler", DbType.String);
        AddParameter(command, "state", DbType.Int32);
        AddParameter(command, "attempt", DbType.Int32);
        AddParameter(command, "created_at", DbType.Int64);
        AddParameter(command, "updated_at", DbType.Int64);
        AddParameter(command, "version", DbType.Int32);
        AddParameter(command, "data", DbType.Binary);
        AddParameter(command, "queued_as_of", DbType.Int64);
        AddParameter(command, "size_hint", DbType.Int64);
        AddParameter(command, "not_before", DbType.Int64);
        AddParameter(command, "workflow_id", DbType.String);
        return command;
    }

    private protected static void SetJobParameters(DbCommand command, JobRecord record)
    {
        var p = command.Parameters;
        p["job_id"].Value = record.Id.ToString();
        p["queue"].Value = record.Queue;
        p["shard"].Value = record.Shard;
        p["priority"].Value = record.Priority;
        p["tenant"].Value = record.Tenant;
        p["handler"].Value = record.Handler;
        p["state"].Value = (int)record.State;
        p["attempt"].Value = record.Attempt;
        p["created_at"].Value = record.CreatedAt.UtcTicks;
        p["updated_at"].Value = record.UpdatedAt.UtcTicks;
        p["version"].Value = record.Version;
        p["data"].Value = (object?)record.Data ?? DBNull.Value;
        p["queued_as_of"].Value = (object?)record.QueuedAsOf?.UtcTicks ?? DBNull.Value;
        p["size_hint"].Value = record.SizeHint;
        p["not_before"].Value = (object?)record.NotBefore?.UtcTicks ?? DBNull.Value;
        p["workflow_id"].Value = (object?)record.Workflow?.ToString() ?? DBNull.Value;
    }

    private static int CheckLimit(int limit, string paramName) => limit is > 0 and <= JobFilter.MaxLimit
        ? limit
        : throw new ArgumentOutOfRangeException(paramName, limit, $"Limit must be 1 to {JobFilter.MaxLimit}.");

    // Only the filters given go into a statement, so the planner can pick the matching index.
    // Only the filters given go into a statement, so the planner can pick the matching index.
    private static void AndWhere(StringBuilder sql, DbCommand command, string condition, string parameter, DbType type, object? value)
    {
        if (value is null)
            return;
        sql.Append(" AND ").Append(condition).Append(" @").Append(parameter);
        AddParameter(command, parameter, type).Value = value;
    }

    private protected static DbParameter AddParameter(DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }

    private protected static JobId ReadJobId(DbDataReader reader, int ordinal) =>
        new(Guid.ParseExact(reader.GetString(ordinal), "d"));

    // SQLite hands back every integer as 64-bit; PostgreSQL as the column's type. Convert covers both.
    private protected static int ReadInt32(DbDataReader reader, int ordinal) =>
        Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private protected static DateTimeOffset FromTicks(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
