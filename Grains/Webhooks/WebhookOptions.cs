namespace Scheduler.Webhooks;

/// <summary>
/// How webhooks are signed and retried (configuration section "Scheduler:Webhooks"; see docs/webhooks.md). A delivery
/// is tried at most <see cref="MaxAttempts"/> times, the waits between attempts growing from
/// <see cref="FirstRetryDelay"/> (doubling, with jitter) up to <see cref="MaxRetryDelay"/>; so it is given up after a
/// bounded time (with the defaults, about 40 minutes).
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// The secret that signs every call (HMAC-SHA256), at least 16 characters. Null: calls cannot be signed and are
    /// not sent (each delivery fails with that error, visible in its record).
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>A tenant's own secret, by tenant name, used instead of <see cref="Secret"/> for that tenant's jobs and workflows.</summary>
    public Dictionary<string, string> TenantSecrets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Most attempts per delivery (1 to 50). Default 10.</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Wait after the first failed attempt; each further wait doubles (with up to 20% jitter). Default 5 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between two attempts. Default 10 minutes.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long one attempt may take before it counts as failed. Default 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The secret for a tenant's calls; null when none is configured.</summary>
    public string? SecretFor(string tenant) => TenantSecrets.TryGetValue(tenant, out var own) ? own : Secret;

    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1 = the first), <paramref name="jitter"/> in [0, 1).</summary>
    public TimeSpan DelayAfter(int attempt, double jitter)
    {
        var doubled = FirstRetryDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(doubled, MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks((long)(capped * (1 + 0.2 * jitter)));
    }

    /// <summary>What is wrong with these settings, each naming its setting under <paramref name="section"/>.</summary>
    public IEnumerable<string> Validate(string section)
    {
        if (Secret is { Length: < 16 })
            yield return $"{section}:Secret must be at least 16 characters";
        foreach (var (tenant, secret) in TenantSecrets ?? [])
        {
            if (secret is null || secret.Length < 16)
                yield return $"{section}:TenantSecrets:{tenant} must be at least 16 characters";
        }
        if (MaxAttempts is < 1 or > 50)
            yield return $"{section}:MaxAttempts must be 1 to 50 (was {MaxAttempts})";
        if (FirstRetryDelay < TimeSpan.FromMilliseconds(10) || FirstRetryDelay > TimeSpan.FromHours(1))
            yield return $"{section}:FirstRetryDelay must be 10 ms to 1 hour (was {FirstRetryDelay})";
        if (MaxRetryDelay < FirstRetryDelay || MaxRetryDelay > TimeSpan.FromDays(1))
            yield return $"{section}:MaxRetryDelay must be FirstRetryDelay to 1 day (was {MaxRetryDelay})";
        if (AttemptTimeout < TimeSpan.FromMilliseconds(100) || AttemptTimeout > TimeSpan.FromMinutes(5))
            yield return $"{section}:AttemptTimeout must be 100 ms to 5 minutes (was {AttemptTimeout})";
    }
}
