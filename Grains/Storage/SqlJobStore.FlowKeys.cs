using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// Concurrency key rows (scheduler_flow_keys, sql/<vendor>/0010_flow_keys.sql).
public abstract partial class SqlJobStore
{
    // Version 1 creates the row; a later version updates the row at the version before it. Key rows are never
    // deleted, so a later version never meets a missing row.
    private protected const string SaveFlowKeySql = """
        INSERT INTO scheduler_flow_keys (service_id, flow_key, version, data)
        VALUES (@service_id, @flow_key, @version, @data)
        ON CONFLICT (service_id, flow_key) DO UPDATE SET version = excluded.version, data = excluded.data
        WHERE scheduler_flow_keys.version = excluded.version - 1
        """;

    private const string ReadFlowKeySql = """
        SELECT flow_key, version, data FROM scheduler_flow_keys WHERE service_id = @service_id AND flow_key = @flow_key
        """;

    public async Task<IReadOnlyList<string>> SaveFlowKeysAsync(IReadOnlyList<FlowKeyRecord> records, CancellationToken cancellationToken = default)
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

        return await SaveInRoundsAsync(records, static r => r.Key, SaveFlowKeyRoundAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a round of records (each key at most once), adding those refused to <paramref name="conflicts"/>.</summary>
    private protected virtual async Task SaveFlowKeyRoundAsync(DbConnection connection, DbTransaction? transaction, List<FlowKeyRecord> round,
        List<string> conflicts, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = SaveFlowKeySql;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        var key = AddParameter(command, "flow_key", DbType.String);
        var version = AddParameter(command, "version", DbType.Int32);
        var data = AddParameter(command, "data", DbType.Binary);
        foreach (var record in round)
        {
            key.Value = record.Key;
            version.Value = record.Version;
            data.Value = record.Data;
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                conflicts.Add(record.Key);
        }
    }

    public async Task<IReadOnlyDictionary<string, StoredFlowKey>> ReadFlowKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<string, StoredFlowKey>(keys.Count, StringComparer.Ordinal);
        if (keys.Count == 0)
            return found;

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        await ReadFlowKeysAsync(command, keys, found, cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Reads the rows of <paramref name="keys"/> with <paramref name="command"/> (service id bound) into <paramref name="found"/>; one query per key unless a dialect does better.</summary>
    private protected virtual async Task ReadFlowKeysAsync(DbCommand command, IReadOnlyList<string> keys, Dictionary<string, StoredFlowKey> found,
        CancellationToken cancellationToken)
    {
        command.CommandText = ReadFlowKeySql;
        var key = AddParameter(command, "flow_key", DbType.String);
        foreach (var one in keys.Distinct(StringComparer.Ordinal))
        {
            key.Value = one;
            await ReadFlowKeyRowsAsync(command, found, cancellationToken).ConfigureAwait(false);
        }
    }

    // Rows of (flow_key, version, data).
    private protected static async Task ReadFlowKeyRowsAsync(DbCommand command, Dictionary<string, StoredFlowKey> found, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            found[reader.GetString(0)] = new StoredFlowKey(ReadInt32(reader, 1), (byte[])reader.GetValue(2));
    }
}
