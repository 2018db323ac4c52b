using System.Collections.Immutable;

namespace Scheduler.Queues;

/// <summary>The queue page's counts, from what the shards report (pure, so it is tested without a cluster).</summary>
public static class QueueOverviews
{
    /// <summary>
    /// Counts jobs per priority and tenant with the earliest enqueue time of each group, the default tenant by its
    /// name (entries may carry none). Past <see cref="WaitingCount.MaxGroups"/> groups the largest are kept and the
    /// rest summed per priority under a null tenant, so an answer stays small with many tenants.
    /// </summary>
    public static ImmutableArray<ShardGroup> Group(IEnumerable<(int Priority, string? Tenant, long EnqueuedAtTicks)> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var groups = new Dictionary<(int Priority, string Tenant), (int Count, long Oldest)>();
        foreach (var (priority, tenant, ticks) in jobs)
        {
            var key = (priority, tenant ?? JobRequest.DefaultTenant);
            groups[key] = groups.TryGetValue(key, out var g) ? (g.Count + 1, Math.Min(g.Oldest, ticks)) : (1, ticks);
        }
        if (groups.Count <= WaitingCount.MaxGroups)
            return [.. groups.Select(kv => new ShardGroup(kv.Key.Priority, kv.Key.Tenant, kv.Value.Count, kv.Value.Oldest))];
        // Room for one summed group per priority beside the named ones.
        var named = WaitingCount.MaxGroups - JobPriority.Max - 1;
        var ordered = groups.OrderByDescending(kv => kv.Value.Count).ToList();
        return [.. ordered.Take(named).Select(kv => new ShardGroup(kv.Key.Priority, kv.Key.Tenant, kv.Value.Count, kv.Value.Oldest)),
            .. ordered.Skip(named).GroupBy(kv => kv.Key.Priority)
                .Select(g => new ShardGroup(g.Key, null, g.Sum(kv => kv.Value.Count), g.Min(kv => kv.Value.Oldest)))];
    }

    /// <summary>
    /// One queue from its shards' snapshots (null: a shard that did not answer): totals, depth per priority (highest
    /// first), and per tenant its counts, weight, share of starts among the tenants waiting now and oldest wait.
    /// </summary>
    public static QueueDepth Compose(string queue, IReadOnlyList<ShardSnapshot?> shards, QueueOrdering ordering)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(ordering);
        var byPriority = new SortedDictionary<int, Tally>(Comparer<int>.Create(static (x, y) => y.CompareTo(x)));
        // "" stands for the summed rest (null): never a tenant's name.
        var byTenant = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            if (shard is null)
                continue;
            foreach (var (groups, taken) in new[] { (shard.Waiting, false), (shard.Taken, true) })
            {
                foreach (var g in groups.IsDefault ? [] : groups)
                {
                    byPriority[g.Priority] = byPriority.GetValueOrDefault(g.Priority).Add(g, taken);
                    byTenant[g.Tenant ?? ""] = byTenant.GetValueOrDefault(g.Tenant ?? "").Add(g, taken);
                }
            }
        }
        var waitingWeight = byTenant.Where(kv => kv.Key.Length > 0 && kv.Value.Waiting > 0).Sum(kv => ordering.WeightOf(kv.Key));
        var tenants = byTenant.Where(kv => kv.Key.Length > 0).Select(kv =>
        {
            var weight = ordering.WeightOf(kv.Key);
            var share = ordering.FairShare && kv.Value.Waiting > 0 && waitingWeight > 0 ? weight / waitingWeight : 0;
            return new TenantShare(kv.Key, weight, kv.Value.Waiting, kv.Value.Taken, share, kv.Value.Since);
        });
        // The summed rest last, with no weight of its own.
        var rest = byTenant.TryGetValue("", out var r) ? [new TenantShare(null, 0, r.Waiting, r.Taken, 0, r.Since)] : Array.Empty<TenantShare>();
        var oldest = byPriority.Values.Where(v => v.Waiting > 0).Select(v => v.OldestWaiting).DefaultIfEmpty(long.MaxValue).Min();
        return new QueueDepth
        {
            Queue = queue,
            Shards = shards.Count,
            Waiting = byPriority.Values.Sum(v => v.Waiting),
            Taken = byPriority.Values.Sum(v => v.Taken),
            ByPriority = [.. byPriority.Select(kv => new PriorityDepth(kv.Key, kv.Value.Waiting, kv.Value.Taken, kv.Value.Since))],
            Tenants = [.. tenants, .. rest],
            ShardsLoading = shards.Count(s => s?.Loading == true),
            ShardsUnanswered = shards.Count(s => s is null),
            OldestWaitingSince = Since(oldest),
        };
    }

    private static DateTimeOffset? Since(long ticks) => ticks == long.MaxValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    /// <summary>Counts of one priority or tenant; the oldest wait counts waiting jobs only (a taken job waits no more).</summary>
    private readonly record struct Tally(long Waiting, long Taken, long OldestWaiting)
    {
        public DateTimeOffset? Since => Waiting > 0 ? QueueOverviews.Since(OldestWaiting) : null;

        public Tally Add(ShardGroup group, bool taken) => taken
            ? this with { Taken = Taken + group.Count }
            : new Tally(Waiting + group.Count, Taken, Math.Min(Waiting == 0 ? long.MaxValue : OldestWaiting, group.OldestTicks));
    }
}
