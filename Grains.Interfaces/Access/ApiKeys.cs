using System.Security.Cryptography;
using System.Text;

namespace Scheduler;

/// <summary>What an API caller may do; each role may do everything the roles below it may.</summary>
[GenerateSerializer, Alias("scheduler.ApiRole")]
public enum ApiRole
{
    /// <summary>Reads jobs, workflows, schedules, limits, dead letters and stats.</summary>
    Viewer = 1,
    /// <summary>Also submits jobs and workflows.</summary>
    Submitter = 2,
    /// <summary>Also controls them: cancel, requeue, reschedule, purge, pause, resume, schedules and limits.</summary>
    Operator = 3,
    /// <summary>Also manages API keys and reads the audit log.</summary>
    Admin = 4,
}

/// <summary>What an API key is asked for: a name for people, a role and optionally a tenant.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ApiKeyRequest")]
public sealed record ApiKeyRequest
{
    /// <summary>A label for people, e.g. "php-frontend"; see <see cref="RequestValidation.NameRule"/>.</summary>
    [Id(0)] public required string Name { get; init; }
    /// <summary>What the key may do.</summary>
    [Id(1)] public required ApiRole Role { get; init; }
    /// <summary>When set, the key sees and controls only this tenant's jobs and workflows.</summary>
    [Id(2)] public string? Tenant { get; init; }

    /// <summary>Null when the request is valid; else what is wrong with it.</summary>
    public string? Problem()
    {
        if (!RequestValidation.IsName(Name))
            return $"key name '{Name}' is not a valid name ({RequestValidation.NameRule})";
        if (!Enum.IsDefined(Role))
            return $"role {(int)Role} does not exist: use viewer, submitter, operator or admin";
        if (Tenant is not null && !RequestValidation.IsName(Tenant))
            return $"tenant '{Tenant}' is not a valid name ({RequestValidation.NameRule})";
        if (Tenant is not null && Role == ApiRole.Admin)
            return "an admin key manages the whole cluster and cannot be scoped to a tenant";
        return null;
    }
}

/// <summary>An API key as listed: never its secret, which is stored only as a hash.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ApiKeyInfo")]
public sealed record ApiKeyInfo
{
    /// <summary>The key's public id (the part of the token after "sch_" and before the next '_').</summary>
    [Id(0)] public required string Id { get; init; }
    /// <summary>Its label.</summary>
    [Id(1)] public required string Name { get; init; }
    /// <summary>What it may do.</summary>
    [Id(2)] public required ApiRole Role { get; init; }
    /// <summary>The tenant it is scoped to; null for all tenants.</summary>
    [Id(3)] public string? Tenant { get; init; }
    /// <summary>When it was created.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was revoked; null while it is valid.</summary>
    [Id(5)] public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>A key just created: the only time its token is shown.</summary>
/// <param name="Key">The key as listed.</param>
/// <param name="Token">The secret to send as <c>Authorization: Bearer &lt;token&gt;</c> or <c>X-Api-Key</c>.</param>
[GenerateSerializer, Immutable, Alias("scheduler.ApiKeyCreated")]
public sealed record ApiKeyCreated(
    [property: Id(0)] ApiKeyInfo Key,
    [property: Id(1)] string Token);

/// <summary>One control action of the audit log: who did what to what, and when.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.AuditEntry")]
public sealed record AuditEntry
{
    /// <summary>Increasing number of the entry; 0 before it is stored.</summary>
    [Id(0)] public long Sequence { get; init; }
    /// <summary>When the action was taken.</summary>
    [Id(1)] public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Who: "key:&lt;id&gt; (&lt;name&gt;)", "jwt:&lt;subject&gt;" or "loopback".</summary>
    [Id(2)] public required string Actor { get; init; }
    /// <summary>What, e.g. "job.cancel", "deadletters.requeue", "limits.set", "keys.revoke".</summary>
    [Id(3)] public required string Action { get; init; }
    /// <summary>What it was done to: a job id, a workflow id, a schedule id, a key.</summary>
    [Id(4)] public required string Target { get; init; }
    /// <summary>The actor's tenant scope, if any.</summary>
    [Id(5)] public string? Tenant { get; init; }
    /// <summary>The outcome or the arguments, short.</summary>
    [Id(6)] public string? Detail { get; init; }
}

/// <summary>API key tokens: their format and hashing, shared by the silos and the API hosts.</summary>
public static class ApiKeyTokens
{
    /// <summary>Every token starts with this.</summary>
    public const string Prefix = "sch_";

    /// <summary>A new key id and token: "sch_" + 12 hex characters of id + "_" + 43 characters of secret (256 bits).</summary>
    public static (string Id, string Token) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{Prefix}{id}_{secret}");
    }

    /// <summary>The key id of a well-formed token; null for anything else.</summary>
    public static string? IdOf(string? token)
    {
        if (token is null || token.Length is < 20 or > 100 || !token.StartsWith(Prefix, StringComparison.Ordinal))
            return null;
        var end = token.IndexOf('_', Prefix.Length);
        if (end != Prefix.Length + 12)
            return null;
        var id = token[Prefix.Length..end];
        return id.All(char.IsAsciiHexDigitLower) ? id : null;
    }

    /// <summary>
    /// The stored hash of a token: SHA-256, hex. A token carries 256 random bits, so a fast hash is enough (a slow one
    /// guards guessable passwords, which these are not).
    /// </summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
