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
public sealed partial class SqlJobStore : IJobStore
{
    // Version 0 writes unconditionally (and keeps the stored version); version 1 creates the row, or takes over a
    // row still at version 0; higher versions go through UpdateJobSql. See IJobStore.SaveAsync.
    private const string UpsertJobSql = """
        INSERT INTO scheduler_jobs
            (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data)
        VALUES (@service_id, @job_id, @queue, @shard, @priority, @tenant, @handler, @state, @attempt, @created_at, @updated_at, @version, @data)
        ON CONFLICT (service_id, job_id) DO UPDATE SET
            queue = excluded.queue,
            shard = excluded.shard,
            priority = excluded.priority,
            tenant = excluded.tenant,
            handler = excluded.handler,
            state = excluded.state,
            attempt = excluded.attempt,
            updated_at = excluded.updated_at,
            version = CASE WHEN excluded.version = 0 THEN scheduler_jobs.version ELSE excluded.version END,
            data = excluded.data
        WHERE excluded.version = 0 OR scheduler_jobs.version = excluded.version - 1
        """;

    private const string UpdateJobSql = """
        UPDATE scheduler_jobs SET
            queue = @queue, shard = @shard, priority = @priority, tenant = @tenant, handler = @handler, state = @state,
            attempt = @attempt, updated_at = @updated_at, version = @version, data = @data
        WHERE service_id = @service_id AND job_id = @job_id AND version = @version - 1
        """;

    // PostgreSQL: a whole batch (ids unique within it) in one statement, from arrays. Every row goes through the
    // primary key's conflict check: one index probe each, whatever the planner believes about the table (an UPDATE
    // joined to the batch was planned from statistics that lag behind a fast-growing table, and then scanned every
    // row of the service for each batch). A row above version 1 may only update: it is proposed with created_at -1
    // (never a real time, and an update keeps the stored one), so a row it created instead is returned as absent; the
    // caller deletes it before committing and reports a conflict. History rows are added for the rows written only.
    private const string PostgresSaveSql = """
        WITH input AS (
            SELECT * FROM unnest(@job_id, @queue, @shard, @priority, @tenant, @handler, @state, @attempt,
                                 @created_at, @updated_at, @version, @data, @silo, @reason, @queued_at)
                AS t(job_id, queue, shard, priority, tenant, handler, state, attempt,
                     created_at, updated_at, version, data, silo, reason, queued_at)
        ), saved AS (
            INSERT INTO scheduler_jobs AS j
                (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data)
            SELECT @service_id, job_id, queue, shard, priority, tenant, handler, state, attempt,
                   CASE WHEN version > 1 THEN -1 ELSE created_at END, updated_at, version, data
            FROM input
            ON CONFLICT (service_id, job_id) DO UPDATE SET
                queue = excluded.queue,
                shard = excluded.shard,
                priority = excluded.priority,
                tenant = excluded.tenant,
                handler = excluded.handler,
                state = excluded.state,
                attempt = excluded.attempt,
                updated_at = excluded.updated_at,
                version = CASE WHEN excluded.version = 0 THEN j.version ELSE excluded.version END,
                data = excluded.data
            WHERE excluded.version = 0 OR j.version = excluded.version - 1
            RETURNING j.job_id, j.created_at = -1 AS absent
        ), written AS (
            SELECT job_id FROM saved WHERE NOT absent
        ), history AS (
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            SELECT @service_id, h.job_id, h.ts, h.state, h.attempt, h.silo, h.reason
            FROM (
                SELECT i.job_id, i.queued_at AS ts, 1 AS state, 0 AS attempt, NULL::text AS silo, NULL::text AS reason, 0 AS k
                FROM input AS i JOIN written AS w ON w.job_id = i.job_id WHERE i.queued_at IS NOT NULL
                UNION ALL
                SELECT i.job_id, i.updated_at, i.state, i.attempt, i.silo, i.reason, 1
                FROM input AS i JOIN written AS w ON w.job_id = i.job_id
            ) AS h
            ORDER BY h.k
        )
        SELECT job_id, absent FROM saved
        """;

    // Deletes the rows a batch created for records above version 1 (see PostgresSaveSql), in its transaction.
    private const string PostgresDeleteAbsentSql = """
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND job_id = ANY(@job_ids) AND created_at = -1
        """;

    // PostgreSQL, a round of one record: the plain statements, with the history row from the same statement. Much
    // cheaper to plan than the array form, and a round of one is what a lightly loaded silo mostly writes.
    private static readonly string PostgresSaveOneSql = WithHistory(UpsertJobSql);
    private static readonly string PostgresUpdateOneSql = WithHistory(UpdateJobSql);

    private static string WithHistory(string writeJob) => $"""
        WITH written AS (
        {writeJob}
        RETURNING job_id
        ), history AS (
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            SELECT @service_id, h.job_id, h.ts, h.state, h.attempt, h.silo, h.reason
            FROM (
                SELECT job_id, @queued_at::bigint AS ts, 1 AS state, 0 AS attempt, NULL::text AS silo, NULL::text AS reason, 0 AS k
                FROM written WHERE @queued_at::bigint IS NOT NULL
                UNION ALL
                SELECT job_id, @updated_at, @state, @attempt, @silo, @reason, 1 FROM written
            ) AS h
            ORDER BY h.k
        )
        SELECT job_id FROM written
        """;

    private const string ReadStateSql = """
        SELECT job_id, version, data FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id
        """;

    private const string PostgresReadStatesSql = """
        SELECT job_id, version, data FROM scheduler_jobs WHERE service_id = @service_id AND job_id = ANY(@job_ids)
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

    // The last error of a dead-lettered job is the reason of its last transition (into Failed).
    private const string ListFailedSql = """
        SELECT j.job_id, j.handler, j.queue, j.tenant, j.priority, j.attempt, j.created_at, j.updated_at,
            (SELECT h.reason FROM scheduler_job_history h
             WHERE h.service_id = j.service_id AND h.job_id = j.job_id
             ORDER BY h.seq DESC LIMIT 1) AS last_error
        FROM scheduler_jobs j
        WHERE j.service_id = @service_id AND j.state = 4
        """;

    private const string PurgeJobSql = """
        DELETE FROM scheduler_jobs WHERE service_id = @service_id AND job_id = @job_id AND state = 4
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

    private readonly DbDataSource _dataSource;
    private readonly string _serviceId;
    private readonly SqlDialect _dialect;

    public SqlJobStore(DbDataSource dataSource, string serviceId, SqlDialect dialect = SqlDialect.Generic)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        if (!Enum.IsDefined(dialect))
            throw new ArgumentOutOfRangeException(nameof(dialect), dialect, "Unknown SQL dialect.");
        _dataSource = dataSource;
        _serviceId = serviceId;
        _dialect = dialect;
    }

    /// <summary>The service id every row this store reads or writes is scoped by.</summary>
    public string ServiceId => _serviceId;

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

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rounds = _dialect == SqlDialect.PostgreSql ? Rounds(records).ToList() : null;
        // One record is one statement, atomic by itself: no BEGIN and COMMIT around it (a round trip less on the hot
        // path). A batch statement may need a second one (see PostgresSaveSql), so it runs in a transaction.
        if (rounds is [[_]])
            return await SavePostgresAsync(connection, null, rounds, cancellationToken).ConfigureAwait(false);

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var conflicts = rounds is not null
            ? await SavePostgresAsync(connection, transaction, rounds, cancellationToken).ConfigureAwait(false)
            : await SaveEachAsync(connection, transaction, records, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return conflicts;
    }

    // One statement per record and table: fine where the database is in-process (SQLite).
    private async Task<IReadOnlyList<JobId>> SaveEachAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> records, CancellationToken cancellationToken)
    {
        await using var upsert = CreateJobCommand(connection, transaction, UpsertJobSql);
        await using var update = CreateJobCommand(connection, transaction, UpdateJobSql);

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
            if (record.QueuedAt is { } queuedAt)
            {
                historyTs.Value = queuedAt.UtcTicks;
                historyState.Value = (int)JobState.Queued;
                historyAttempt.Value = 0;
                historySilo.Value = DBNull.Value;
                historyReason.Value = DBNull.Value;
                await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            historyTs.Value = record.UpdatedAt.UtcTicks;
            historyState.Value = (int)record.State;
            historyAttempt.Value = record.Attempt;
            historySilo.Value = (object?)record.Silo ?? DBNull.Value;
            historyReason.Value = (object?)record.Reason ?? DBNull.Value;
            await history.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return conflicts ?? [];
    }

    private DbCommand CreateJobCommand(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
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
        return command;
    }

    private static void SetJobParameters(DbCommand command, JobRecord record)
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
    }

    // PostgreSQL: one round trip per round (see Rounds). Not prepared: a cached generic plan, made while the table
    // was small, would keep scanning it once it has grown; planning each batch afresh costs well under a millisecond.
    private async Task<IReadOnlyList<JobId>> SavePostgresAsync(
        DbConnection connection, DbTransaction? transaction, List<List<JobRecord>> rounds, CancellationToken cancellationToken)
    {
        List<JobId>? conflicts = null;
        foreach (var round in rounds)
        {
            if (round is [var one])
            {
                await using var single = CreateJobCommand(connection, transaction, one.Version <= 1 ? PostgresSaveOneSql : PostgresUpdateOneSql);
                SetJobParameters(single, one);
                AddParameter(single, "silo", DbType.String).Value = (object?)one.Silo ?? DBNull.Value;
                AddParameter(single, "reason", DbType.String).Value = (object?)one.Reason ?? DBNull.Value;
                AddParameter(single, "queued_at", DbType.Int64).Value = (object?)one.QueuedAt?.UtcTicks ?? DBNull.Value;
                if (await single.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                    (conflicts ??= []).Add(one.Id);
                continue;
            }

            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = PostgresSaveSql;
            AddParameter(command, "service_id", DbType.String).Value = _serviceId;
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
            AddArray(command, "queued_at", round.Select(r => r.QueuedAt?.UtcTicks).ToArray());

            // Updates of rows that do not exist (a job deleted meanwhile) are undone.
            var written = await ReadBatchWriteAsync(command, PostgresDeleteAbsentSql, "job_ids", round.Count, cancellationToken).ConfigureAwait(false);
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

    public async Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<JobId, StoredJobState>(ids.Count);
        if (ids.Count == 0)
            return found;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        if (_dialect == SqlDialect.PostgreSql)
        {
            command.CommandText = PostgresReadStatesSql;
            AddArray(command, "job_ids", ids.Select(id => id.ToString()).Distinct().ToArray());
            await ReadStatesAsync(command, found, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            command.CommandText = ReadStateSql;
            var jobId = AddParameter(command, "job_id", DbType.String);
            foreach (var id in ids)
            {
                jobId.Value = id.ToString();
                await ReadStatesAsync(command, found, cancellationToken).ConfigureAwait(false);
            }
        }
        return found;
    }

    private static async Task ReadStatesAsync(DbCommand command, Dictionary<JobId, StoredJobState> found, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found[ReadJobId(reader, 0)] = new StoredJobState(ReadInt32(reader, 1), reader.IsDBNull(2) ? null : (byte[])reader.GetValue(2));
        }
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
        var limit = CheckLimit(filter.Limit, nameof(filter));

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("""
            SELECT job_id, state, handler, queue, priority, tenant, attempt, created_at, updated_at
            FROM scheduler_jobs
            WHERE service_id = @service_id
            """);
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
        AndWhere(sql, command, "state =", "state", DbType.Int32, (int?)filter.State);
        AndWhere(sql, command, "queue =", "queue", DbType.String, filter.Queue);
        AndWhere(sql, command, "tenant =", "tenant", DbType.String, filter.Tenant);
        AndWhere(sql, command, "handler =", "handler", DbType.String, filter.Handler);
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

    public async Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var limit = CheckLimit(filter.Limit, nameof(filter));

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(ListFailedSql);
        AddParameter(command, "service_id", DbType.String).Value = _serviceId;
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

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var commands = new List<(DbCommand Command, DbParameter JobId)>();
        try
        {
            foreach (var text in new[] { PurgeJobSql, PurgeHistorySql, PurgeLogSql })
            {
                var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = text;
                AddParameter(command, "service_id", DbType.String).Value = _serviceId;
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

    private static int CheckLimit(int limit, string paramName) => limit is > 0 and <= JobFilter.MaxLimit
        ? limit
        : throw new ArgumentOutOfRangeException(paramName, limit, $"Limit must be 1 to {JobFilter.MaxLimit}.");

    // Only the filters given go into a statement, so the planner can pick the matching index.
    private static void AndWhere(StringBuilder sql, DbCommand command, string condition, string parameter, DbType type, object? value)
    {
        if (value is null)
            return;
        sql.Append(" AND ").Append(condition).Append(" @").Append(parameter);
        AddParameter(command, parameter, type).Value = value;
    }

    /// <summary>
    /// Reads what a PostgreSQL batch write returns: one row per record it wrote (id, and whether the record was meant
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
            AddParameter(delete, "service_id", DbType.String).Value = _serviceId;
            AddArray(delete, idsParameter, absent.ToArray());
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return written;
    }

    private static DbParameter AddParameter(DbCommand command, string name, DbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }

    // The provider infers the array type from the values (text[], integer[], bigint[], bytea[] on PostgreSQL).
    private static void AddArray<T>(DbCommand command, string name, T[] values)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = values;
        command.Parameters.Add(parameter);
    }

    private static JobId ReadJobId(DbDataReader reader, int ordinal) =>
        new(Guid.ParseExact(reader.GetString(ordinal), "d"));

    // SQLite hands back every integer as 64-bit; PostgreSQL as the column's type. Convert covers both.
    private static int ReadInt32(DbDataReader reader, int ordinal) =>
        Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static DateTimeOffset FromTicks(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}

/// <summary>Which SQL a <see cref="SqlJobStore"/> may use beyond what SQLite and PostgreSQL share.</summary>
public enum SqlDialect
{
    /// <summary>Plain SQL, one statement per row (SQLite).</summary>
    Generic = 0,

    /// <summary>PostgreSQL: arrays and data-modifying CTEs, one statement per batch.</summary>
    PostgreSql = 1,
}
