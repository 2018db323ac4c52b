namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public Task<ApiKeyCreated> CreateApiKeyAsync(ApiKeyRequest request, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Problem() is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return CallAsync(g => g.GetGrain<IAccessGrain>(0).CreateKey(request, actor ?? "unknown"), cancellationToken);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<ApiKeyInfo>>(async g => await g.GetGrain<IAccessGrain>(0).ListKeys(), cancellationToken);

    public Task<bool> RevokeApiKeyAsync(string id, string actor, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 32)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"'{id}' is not an API key id (12 hex characters, as keys list shows)");
        return CallAsync(g => g.GetGrain<IAccessGrain>(0).RevokeKey(id, actor ?? "unknown"), cancellationToken);
    }

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 1000)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"limit {limit} is out of range: use 1 to 1000");
        return CallAsync<IReadOnlyList<AuditEntry>>(async g => await g.GetGrain<IAccessGrain>(0).ListAudit(before, limit), cancellationToken);
    }
}
