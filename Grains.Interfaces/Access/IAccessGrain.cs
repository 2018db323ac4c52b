using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// API keys and the audit log. A stateless worker: every silo serves it locally over the shared tables, so it is
/// never a single hot grain.
/// </summary>
[Alias("scheduler.IAccessGrain")]
public interface IAccessGrain : IGrainWithIntegerKey
{
    /// <summary>Creates a key and records it (hashed); the token is returned only here. Throws ArgumentException when the request is invalid.</summary>
    [Alias("CreateKey")]
    Task<ApiKeyCreated> CreateKey(ApiKeyRequest request, string actor);

    /// <summary>Every key, revoked ones included, oldest first.</summary>
    [Alias("ListKeys")]
    Task<ImmutableArray<ApiKeyInfo>> ListKeys();

    /// <summary>Revokes a key; false when there is no such key or it was already revoked.</summary>
    [Alias("RevokeKey")]
    Task<bool> RevokeKey(string id, string actor);

    /// <summary>The valid (not revoked) key a token belongs to; null for an unknown, revoked or malformed token.</summary>
    [Alias("Authenticate")]
    Task<ApiKeyInfo?> Authenticate(string token);

    /// <summary>Appends one entry to the audit log; returns once it is durable.</summary>
    [Alias("Audit")]
    Task Audit(AuditEntry entry);

    /// <summary>Audit entries with a sequence below <paramref name="before"/> (null: the newest), newest first, at most <paramref name="limit"/>.</summary>
    [Alias("ListAudit")]
    Task<ImmutableArray<AuditEntry>> ListAudit(long? before, int limit);
}
