namespace Scheduler.Client;

/// <summary>API keys of the REST API and its audit log (see docs/rest-api.md).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Creates an API key with a role and optionally a tenant; its token is in the answer only (the cluster keeps a
    /// hash). <paramref name="actor"/> is who the audit log names as its creator.
    /// </summary>
    Task<ApiKeyCreated> CreateApiKeyAsync(ApiKeyRequest request, string actor, CancellationToken cancellationToken = default);

    /// <summary>Every API key, revoked ones included, oldest first; never their tokens.</summary>
    Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes an API key (REST hosts stop taking it within their key cache time); false when there is no valid key with this id.</summary>
    Task<bool> RevokeApiKeyAsync(string id, string actor, CancellationToken cancellationToken = default);

    /// <summary>Audit entries older than sequence <paramref name="before"/> (null: the newest), newest first, at most <paramref name="limit"/> (1 to 1000).</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before = null, int limit = 100, CancellationToken cancellationToken = default);
}
