using System.Data;
using System.Data.Common;

namespace Scheduler.Storage;

// API keys and the audit log (scheduler_api_keys, scheduler_audit; sql/<vendor>/0011_access.sql). The same SQL on
// SQLite and PostgreSQL.
public abstract partial class SqlJobStore : IAccessStore
{
    private const string KeyColumns = "key_id, name, role, tenant, created_at, revoked_at, token_hash";

    public async Task<bool> InsertKeyAsync(StoredApiKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO scheduler_api_keys (service_id, key_id, name, role, tenant, created_at, revoked_at, token_hash)
            VALUES (@service_id, @key_id, @name, @role, @tenant, @created_at, NULL, @token_hash)
            ON CONFLICT (service_id, key_id) DO NOTHING
            """;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "key_id", DbType.String).Value = key.Info.Id;
        AddParameter(command, "name", DbType.String).Value = key.Info.Name;
        AddParameter(command, "role", DbType.Int32).Value = (int)key.Info.Role;
        AddParameter(command, "tenant", DbType.String).Value = (object?)key.Info.Tenant ?? DBNull.Value;
        AddParameter(command, "created_at", DbType.Int64).Value = key.Info.CreatedAt.UtcTicks;
        AddParameter(command, "token_hash", DbType.String).Value = key.TokenHash;
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<StoredApiKey?> ReadKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM scheduler_api_keys WHERE service_id = @service_id AND key_id = @key_id";
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "key_id", DbType.String).Value = id;
        var keys = await ReadKeysAsync(command, cancellationToken).ConfigureAwait(false);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM scheduler_api_keys WHERE service_id = @service_id ORDER BY created_at, key_id";
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        return [.. (await ReadKeysAsync(command, cancellationToken).ConfigureAwait(false)).Select(k => k.Info)];
    }

    public async Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE scheduler_api_keys SET revoked_at = @revoked_at
            WHERE service_id = @service_id AND key_id = @key_id AND revoked_at IS NULL
            """;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "key_id", DbType.String).Value = id;
        AddParameter(command, "revoked_at", DbType.Int64).Value = at.UtcTicks;
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO scheduler_audit (service_id, ts, actor, action, target, tenant, detail)
            VALUES (@service_id, @ts, @actor, @action, @target, @tenant, @detail)
            """;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        AddParameter(command, "ts", DbType.Int64).Value = entry.Timestamp.UtcTicks;
        AddParameter(command, "actor", DbType.String).Value = Clip(entry.Actor, 200);
        AddParameter(command, "action", DbType.String).Value = Clip(entry.Action, 64);
        AddParameter(command, "target", DbType.String).Value = Clip(entry.Target, 400);
        AddParameter(command, "tenant", DbType.String).Value = (object?)entry.Tenant ?? DBNull.Value;
        AddParameter(command, "detail", DbType.String).Value = entry.Detail is null ? DBNull.Value : Clip(entry.Detail, 2000);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before, int limit, CancellationToken cancellationToken = default)
    {
        limit = CheckLimit(limit, nameof(limit));
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT seq, ts, actor, action, target, tenant, detail FROM scheduler_audit
            WHERE service_id = @service_id{(before is null ? "" : " AND seq < @before")}
            ORDER BY seq DESC LIMIT @limit
            """;
        AddParameter(command, "service_id", DbType.String).Value = ServiceId;
        if (before is { } b)
            AddParameter(command, "before", DbType.Int64).Value = b;
        AddParameter(command, "limit", DbType.Int32).Value = limit;
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new AuditEntry
            {
                Sequence = Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                Timestamp = FromTicks(reader.GetInt64(1)),
                Actor = reader.GetString(2),
                Action = reader.GetString(3),
                Target = reader.GetString(4),
                Tenant = reader.IsDBNull(5) ? null : reader.GetString(5),
                Detail = reader.IsDBNull(6) ? null : reader.GetString(6),
            });
        }
        return entries;
    }

    private static string Clip(string text, int length) => text.Length <= length ? text : text[..length];

    private static async Task<List<StoredApiKey>> ReadKeysAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var keys = new List<StoredApiKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new StoredApiKey(new ApiKeyInfo
            {
                Id = reader.GetString(0),
                Name = reader.GetString(1),
                Role = (ApiRole)ReadInt32(reader, 2),
                Tenant = reader.IsDBNull(3) ? null : reader.GetString(3),
                CreatedAt = FromTicks(reader.GetInt64(4)),
                RevokedAt = reader.IsDBNull(5) ? null : FromTicks(reader.GetInt64(5)),
            }, reader.GetString(6)));
        }
        return keys;
    }
}
