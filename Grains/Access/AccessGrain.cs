using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Orleans.Concurrency;
using Scheduler.Storage;

namespace Scheduler.Access;

/// <summary>API keys and the audit log over the shared <see cref="IAccessStore"/>; holds no state of its own.</summary>
[StatelessWorker, Reentrant]
public sealed class AccessGrain(IAccessStore store, TimeProvider time) : Grain, IAccessGrain
{
    /// <summary>Most audit entries one listing returns.</summary>
    private const int MaxAuditPage = 1000;

    public async Task<ApiKeyCreated> CreateKey(ApiKeyRequest request, string actor)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(request));
        while (true)
        {
            var (id, token) = ApiKeyTokens.Create();
            var info = new ApiKeyInfo { Id = id, Name = request.Name, Role = request.Role, Tenant = request.Tenant, CreatedAt = time.GetUtcNow() };
            // 48 random bits of id: a clash is next to impossible, and a taken id is simply drawn again.
            if (!await store.InsertKeyAsync(new StoredApiKey(info, ApiKeyTokens.Hash(token))))
                continue;
            await Audit(new AuditEntry { Timestamp = info.CreatedAt, Actor = actor, Action = "keys.create", Target = id, Detail = $"{info.Name} role={info.Role} tenant={info.Tenant ?? "*"}" });
            return new ApiKeyCreated(info, token);
        }
    }

    public async Task<ImmutableArray<ApiKeyInfo>> ListKeys() => [.. await store.ListKeysAsync()];

    public async Task<bool> RevokeKey(string id, string actor)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = time.GetUtcNow();
        if (!await store.RevokeKeyAsync(id, now))
            return false;
        await Audit(new AuditEntry { Timestamp = now, Actor = actor, Action = "keys.revoke", Target = id });
        return true;
    }

    public async Task<ApiKeyInfo?> Authenticate(string token)
    {
        if (ApiKeyTokens.IdOf(token) is not { } id || await store.ReadKeyAsync(id) is not { } key || key.Info.RevokedAt is not null)
            return null;
        var given = Encoding.ASCII.GetBytes(ApiKeyTokens.Hash(token));
        var stored = Encoding.ASCII.GetBytes(key.TokenHash);
        return CryptographicOperations.FixedTimeEquals(given, stored) ? key.Info : null;
    }

    public Task Audit(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return store.AppendAuditAsync(entry);
    }

    public async Task<ImmutableArray<AuditEntry>> ListAudit(long? before, int limit)
    {
        if (limit is < 1 or > MaxAuditPage)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"limit must be 1 to {MaxAuditPage}");
        return [.. await store.ListAuditAsync(before, limit)];
    }
}
