namespace Scheduler.Queues;

/// <summary>
/// How queue shards order waiting jobs within a priority level, bound from "Scheduler:Ordering" (docs/queues.md).
/// Must be the same on every silo: each shard applies the settings of the silo it is active on.
/// </summary>
public sealed class QueueOrderingOptions
{
    /// <summary>
    /// Tenants take turns within a priority level, by <see cref="TenantWeights"/>. False: one line per level, smaller
    /// size hint and then older first, whoever submitted. Default true.
    /// </summary>
    public bool FairShare { get; set; } = true;

    /// <summary>
    /// Share of starts per tenant within a priority level, relative to the others (default 1 each): a tenant of
    /// weight 3 starts three jobs for every one of a tenant of weight 1 while both wait. Greater than 0.
    /// </summary>
    public Dictionary<string, double> TenantWeights { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Aging per queue: a waiting job's level gains priority with its wait. No entry: no aging.</summary>
    public Dictionary<string, AgingOptions> Aging { get; set; } = new(StringComparer.Ordinal);

    public IEnumerable<string> Validate(string section)
    {
        foreach (var (tenant, weight) in TenantWeights ?? [])
        {
            if (!RequestValidation.IsName(tenant))
                yield return $"{section}:TenantWeights: '{tenant}' is not a valid tenant name ({RequestValidation.NameRule})";
            if (!(weight > 0) || double.IsInfinity(weight) || weight > MaxWeight)
                yield return $"{section}:TenantWeights:{tenant} must be greater than 0 and at most {MaxWeight} (was {weight})";
        }
        foreach (var (queue, aging) in Aging ?? [])
        {
            if (!RequestValidation.IsName(queue))
                yield return $"{section}:Aging: '{queue}' is not a valid queue name ({RequestValidation.NameRule})";
            if (aging is null)
                yield return $"{section}:Aging:{queue}: no settings";
            else
            {
                if (!(aging.PointsPerMinute >= 0) || double.IsInfinity(aging.PointsPerMinute))
                    yield return $"{section}:Aging:{queue}:PointsPerMinute must be 0 or more (was {aging.PointsPerMinute})";
                if (aging.MaxBoost is < 0 or > JobPriority.Max)
                    yield return $"{section}:Aging:{queue}:MaxBoost must be 0 to {JobPriority.Max} (was {aging.MaxBoost})";
            }
        }
    }

    /// <summary>Largest tenant weight accepted.</summary>
    public const double MaxWeight = 1_000_000;

    /// <summary>The rules a shard of <paramref name="queue"/> orders by.</summary>
    public QueueOrdering For(string queue) => new(
        FairShare,
        TenantWeights is { Count: > 0 } weights ? tenant => weights.GetValueOrDefault(tenant, 1) : static _ => 1,
        Aging?.GetValueOrDefault(queue) is { PointsPerMinute: > 0, MaxBoost: > 0 } aging ? new AgingRule(aging.PointsPerMinute, aging.MaxBoost) : null);
}

/// <summary>Aging of one queue: "Scheduler:Ordering:Aging:&lt;queue&gt;".</summary>
public sealed class AgingOptions
{
    /// <summary>Priority points a waiting job's level gains per minute of its oldest job's wait; 0: none. Default 0.</summary>
    public double PointsPerMinute { get; set; }

    /// <summary>Most points aging adds, 0 to 100 (a level never goes above priority 100). Default 100.</summary>
    public int MaxBoost { get; set; } = JobPriority.Max;
}

/// <summary>Aging as a shard applies it.</summary>
public sealed record AgingRule(double PointsPerMinute, int MaxBoost)
{
    /// <summary>
    /// <paramref name="priority"/> raised by one point per 1/<see cref="PointsPerMinute"/> minutes of
    /// <paramref name="waitedTicks"/>, by at most <see cref="MaxBoost"/>, and to at most <see cref="JobPriority.Max"/>.
    /// </summary>
    public int Raise(int priority, long waitedTicks)
    {
        if (waitedTicks <= 0)
            return priority;
        var points = Math.Min(MaxBoost, Math.Floor(waitedTicks * PointsPerMinute / TimeSpan.TicksPerMinute));
        return (int)Math.Min(JobPriority.Max, priority + points);
    }

    /// <summary>How long a job of <paramref name="priority"/> waits before its level competes at <paramref name="target"/>; null: never.</summary>
    public TimeSpan? WaitToReach(int priority, int target) =>
        target <= priority ? TimeSpan.Zero
        : target - priority > MaxBoost || target > JobPriority.Max ? null
        : TimeSpan.FromMinutes((target - priority) / PointsPerMinute);
}

/// <summary>The order rules of one queue's shards.</summary>
/// <param name="FairShare">Tenants take turns within a level.</param>
/// <param name="WeightOf">A tenant's weight (greater than 0).</param>
/// <param name="Aging">Null: no aging.</param>
public sealed record QueueOrdering(bool FairShare, Func<string, double> WeightOf, AgingRule? Aging)
{
    /// <summary>Fair share with equal weights, no aging.</summary>
    public static QueueOrdering Default { get; } = new(true, static _ => 1, null);
}
