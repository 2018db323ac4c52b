namespace Scheduler.Storage;

/// <summary>
/// API keys (<c>scheduler_api_keys</c>, secrets stored only as hashes) and the audit log (<c>scheduler_audit</c>).
/// Every method returns only once its change is durable.
/// </summary>
public interface IAccessStore
{
    /// <summary>Records a new key; false when its id is taken (nothing written).</summary>
    Task<bool> InsertKeyAsync(StoredApiKey key, CancellationToken cancellationToken = default);

    /// <summary>The key with this id, revoked or not; null when there is none.</summary>
    Task<StoredApiKey?> ReadKeyAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every key, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Marks a valid key revoked at <paramref name="at"/>; false when there is none or it was revoked already.</summary>
    Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Appends an audit entry (its sequence is assigned by the store).</summary>
    Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Entries with a sequence below <paramref name="before"/> (null: all), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before, int limit, CancellationToken cancellationToken = default);
}

/// <summary>A key row: what is listed, and the hash its token must match.</summary>
public sealed record StoredApiKey(ApiKeyInfo Info, string TokenHash);
