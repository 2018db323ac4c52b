using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// Schedule rows (scheduler_schedules, sql/<vendor>/0008_schedules.sql). The same SQL on SQLite and PostgreSQL.
public abstract partial class SqlJobStore
{
    private const string InsertScheduleSql = """
        INSERT INTO scheduler_schedules (service_id, schedule_id, version, paused, updated_at, data)
        VALUES (@service_id, @schedule_id, @version, @paused, @updated_at, @data)
        ON CONFLICT (service_id, schedule_id) DO NOTHING
        """;

    private const string UpdateScheduleSql = """
        UPDATE scheduler_schedules SET version = @version, paused = @paused, updated_at = @updated_at, data = @data
        WHERE service_id = @service_id AND schedule_id = @schedule_id AND version = @version - 1
        """;

    private const string ReadScheduleSql = """
        SELECT schedule_id, version, data FROM scheduler_schedules WHERE service_id = @service_id AND schedule_id = @schedule_id
        """;

    private const string DeleteScheduleSql = """
        DELETE FROM scheduler_schedules WHERE service_id = @service_id AND schedule_id = @schedule_id AND version = @version
        """;

    private const string ListSchedulesSql = """
        SELECT schedule_id, version, data FROM scheduler_schedules
        WHERE service_id = @service_id AND schedule_id > @after
        ORDER BY schedule_id
        LIMIT @limit
        """;

    public async Task<IReadOnlyList<string>> SaveSchedulesAsync(IReadOnlyList<ScheduleRecord> records, CancellationToken cancellationToken = default)
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

        // Rounds run in order, as a later record may build on an earlier one of the same schedule.
        return await SaveInRoundsAsync(records, static r => r.Id, SaveScheduleRoundAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a round of records (each id at most once), adding those refused to <paramref name="conflicts"/>.</summary>
    private protected virtual async Task SaveScheduleRoundAsync(DbConnection connection, DbTransaction? transaction, List<ScheduleRecord> round,
        List<string> conflicts, CancellationToken cancellationToken)
    {
        // One statement per record.
        foreach (var record in round)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = record.Version == 1 ? InsertScheduleSql : UpdateScheduleSql;
            AddParameter(command, "service_id", DbType.String).Value = ServiceId;
            AddParameter(command, "schedule_id", DbType.String).Value = record.Id;
            AddParameter(command, "version", DbType.Int32).Value = record.Version;
            AddParameter(command, "paused", DbType.Int32).Value = record.Paused ? 1 : 0;
            AddParameter(command, "updated_at", DbType.Int64).Value = record.UpdatedAt.UtcTicks;
            AddParameter(command, "data", DbType.Binary).Value = record.Data;
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
                conflicts.Add(record.Id);
        }
    }

    public async Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ReadScheduleSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "schedule_id", DbType.String).Value = id;
        var rows = await ReadScheduleRowsAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeleteScheduleSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "schedule_id", DbType.String).Value = id;
        AddParameter(command, "version", DbType.Int32).Value = version;
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = ListSchedulesSql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        // Ids are names of ASCII letters, digits, '.', '-' and '_', so the empty string sorts before every one.
        AddParameter(command, "after", DbType.String).Value = after ?? "";
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        return await ReadScheduleRowsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<StoredSchedule>> ReadScheduleRowsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<StoredSchedule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(new StoredSchedule(reader.GetString(0), ReadInt32(reader, 1), (byte[])reader.GetValue(2)));
        return rows;
    }
}
