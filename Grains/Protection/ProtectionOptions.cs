using System.Globalization;

namespace Scheduler.Protection;

/// <summary>
/// Bounded backlogs, bound from "Scheduler:Backpressure". A submit that would take a queue's or a tenant's Queued
/// jobs past its bound is refused whole with <see cref="SchedulerErrorCode.Overloaded"/> and a retry-after. No bound
/// is set by default (nothing is refused and nothing is counted).
/// </summary>
public sealed class BackpressureOptions
{
    /// <summary>Most Queued jobs of any one queue (a queue listed in <see cref="Queues"/> has its own). Default: none.</summary>
    public int? MaxQueuedPerQueue { get; set; }

    /// <summary>Most Queued jobs of any one tenant (a tenant listed in <see cref="Tenants"/> has its own). Default: none.</summary>
    public int? MaxQueuedPerTenant { get; set; }

    /// <summary>Bounds of single queues, e.g. "reports": 5000.</summary>
    public Dictionary<string, int> Queues { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Bounds of single tenants, e.g. "acme": 1000.</summary>
    public Dictionary<string, int> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How often each silo counts the Queued jobs in the store. Between counts a silo adds what it accepted itself, so
    /// one silo never passes a bound; other silos' submits since the last count can. Default 1 s.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest bound that may be set.</summary>
    public const int MaxBound = 100_000_000;

    /// <summary>True when any bound is set.</summary>
    public bool Enabled => MaxQueuedPerQueue is not null || MaxQueuedPerTenant is not null || Queues.Count > 0 || Tenants.Count > 0;

    /// <summary>The bound of <paramref name="queue"/>, if any.</summary>
    public int? BoundOfQueue(string queue) => Queues.TryGetValue(queue, out var bound) ? bound : MaxQueuedPerQueue;

    /// <summary>The bound of <paramref name="tenant"/>, if any.</summary>
    public int? BoundOfTenant(string tenant) => Tenants.TryGetValue(tenant, out var bound) ? bound : MaxQueuedPerTenant;

    public IEnumerable<string> Validate(string section)
    {
        if (MaxQueuedPerQueue is < 1 or > MaxBound)
            yield return $"{section}:MaxQueuedPerQueue must be 1 to {MaxBound} (was {MaxQueuedPerQueue})";
        if (MaxQueuedPerTenant is < 1 or > MaxBound)
            yield return $"{section}:MaxQueuedPerTenant must be 1 to {MaxBound} (was {MaxQueuedPerTenant})";
        foreach (var (kind, bounds) in new[] { ("Queues", Queues), ("Tenants", Tenants) })
        {
            if (bounds is null)
            {
                yield return $"{section}:{kind} must not be null";
                continue;
            }
            foreach (var (name, bound) in bounds)
            {
                if (!RequestValidation.IsName(name))
                    yield return $"{section}:{kind}: '{name}' is not a valid name ({RequestValidation.NameRule})";
                if (bound is < 1 or > MaxBound)
                    yield return $"{section}:{kind}:{name} must be 1 to {MaxBound} (was {bound})";
            }
        }
        if (RefreshInterval < TimeSpan.FromMilliseconds(100) || RefreshInterval > TimeSpan.FromMinutes(1))
            yield return $"{section}:RefreshInterval must be 100 ms to 1 minute (was {RefreshInterval})";
    }
}

/// <summary>
/// Circuit breakers, bound from "Scheduler:Breakers": per handler and per concurrency key. Must be the same on every
/// silo. A handler or key without settings has no breaker (its outcomes are not even counted).
/// </summary>
public sealed class BreakerOptions
{
    /// <summary>Breakers of handlers, e.g. "monk": { "ConsecutiveFailures": 5, "CoolDown": "00:00:30" }.</summary>
    public Dictionary<string, BreakerSettings> Handlers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Breakers of concurrency keys (a list, because keys contain ':'), e.g. [{ "Key": "api:scanoss", "FailureRatio": 0.5 }].</summary>
    public List<KeyBreakerSettings> Keys { get; set; } = [];

    /// <summary>True when any breaker is configured.</summary>
    public bool Enabled => Handlers.Count > 0 || Keys.Count > 0;

    /// <summary>The settings of breaker <paramref name="target"/> ("handler:NAME" or "key:KEY"), or null when it has none.</summary>
    public BreakerSettings? SettingsOf(string target)
    {
        if (target.StartsWith("handler:", StringComparison.Ordinal))
            return Handlers.GetValueOrDefault(target["handler:".Length..]);
        if (target.StartsWith("key:", StringComparison.Ordinal))
            return Keys.Find(k => k?.Key == target["key:".Length..]);
        return null;
    }

    /// <summary>Every configured breaker's target, in order.</summary>
    public IEnumerable<string> Targets() =>
        Handlers.Keys.Order(StringComparer.Ordinal).Select(BreakerTargets.OfHandler)
            .Concat(Keys.Where(k => k?.Key is not null).Select(k => BreakerTargets.OfKey(k.Key!)).Order(StringComparer.Ordinal));

    public IEnumerable<string> Validate(string section)
    {
        if (Handlers is null || Keys is null)
        {
            yield return $"{section}: Handlers and Keys must not be null";
            yield break;
        }
        foreach (var (name, settings) in Handlers)
        {
            if (!RequestValidation.IsName(name))
                yield return $"{section}:Handlers: '{name}' is not a valid name ({RequestValidation.NameRule})";
            foreach (var problem in settings?.Validate() ?? ["no settings"])
                yield return $"{section}:Handlers:{name}: {problem}";
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i];
            if (key is null || !FlowKeys.IsKey(key.Key))
            {
                yield return $"{section}:Keys:{i}: key '{key?.Key}' is not valid ({FlowKeys.KeyRule})";
                continue;
            }
            if (!seen.Add(key.Key!))
                yield return $"{section}:Keys:{i}: key '{key.Key}' is listed twice";
            foreach (var problem in key.Validate())
                yield return $"{section}:Keys:{i} ({key.Key}): {problem}";
        }
    }
}

/// <summary>When a breaker opens and for how long. Give <see cref="ConsecutiveFailures"/>, <see cref="FailureRatio"/> or both.</summary>
public class BreakerSettings
{
    /// <summary>Opens after this many failed attempts in a row (1 to 10,000). Default: not used.</summary>
    public int? ConsecutiveFailures { get; set; }

    /// <summary>Opens when failures make up at least this share (above 0, at most 1) of the outcomes in <see cref="Window"/>. Default: not used.</summary>
    public double? FailureRatio { get; set; }

    /// <summary>The sliding window of <see cref="FailureRatio"/> (1 s to 1 day). Default 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Fewest outcomes in the window before <see cref="FailureRatio"/> counts (1 to 100,000). Default 10.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>How long it stays open before a trial job runs (1 s to 1 day). Default 30 s.</summary>
    public TimeSpan CoolDown { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate()
    {
        if (ConsecutiveFailures is null && FailureRatio is null)
            yield return "give ConsecutiveFailures, FailureRatio or both";
        if (ConsecutiveFailures is < 1 or > 10_000)
            yield return $"ConsecutiveFailures must be 1 to 10000 (was {ConsecutiveFailures})";
        if (FailureRatio is { } ratio && (double.IsNaN(ratio) || ratio <= 0 || ratio > 1))
            yield return $"FailureRatio must be above 0 and at most 1 (was {ratio.ToString(CultureInfo.InvariantCulture)})";
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(1))
            yield return $"Window must be 1 s to 1 day (was {Window})";
        if (MinimumThroughput is < 1 or > 100_000)
            yield return $"MinimumThroughput must be 1 to 100000 (was {MinimumThroughput})";
        if (CoolDown < TimeSpan.FromSeconds(1) || CoolDown > TimeSpan.FromDays(1))
            yield return $"CoolDown must be 1 s to 1 day (was {CoolDown})";
    }

    /// <summary>The settings as status lines show them.</summary>
    public string Describe()
    {
        var rules = new List<string>();
        if (ConsecutiveFailures is { } n)
            rules.Add($"{n} in a row");
        if (FailureRatio is { } r)
            rules.Add($"{(r * 100).ToString("0.#", CultureInfo.InvariantCulture)}% of ≥ {MinimumThroughput} in {FlowKeys.Describe(Window)}");
        return $"{string.Join(" or ", rules)}; cool-down {FlowKeys.Describe(CoolDown)}";
    }
}

/// <summary>A concurrency key's breaker.</summary>
public sealed class KeyBreakerSettings : BreakerSettings
{
    /// <summary>The key, e.g. "api:scanoss".</summary>
    public string? Key { get; set; }
}
