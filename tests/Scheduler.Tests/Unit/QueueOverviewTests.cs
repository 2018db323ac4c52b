using Microsoft.Extensions.Time.Testing;
using Scheduler.Queues;

namespace Scheduler.Tests.Unit;

/// <summary>The queue page's counts (GET /queues): what shards report, summed per queue, priority and tenant.</summary>
public sealed class QueueOverviewTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    private static QueueEntry Job(string? tenant, int priority = 50, int minutes = 0) =>
        new(JobId.New(), priority, Start.AddMinutes(minutes).UtcTicks, 0, tenant);

    private static QueueOrdering Weights(bool fairShare = true) =>
        new(fairShare, tenant => tenant == "gold" ? 3 : 1, null);

    private static ShardSnapshot Shard(IEnumerable<QueueEntry> waiting, IEnumerable<QueueEntry>? taken = null, bool loading = false)
    {
        var queue = new ShardQueue(QueueOrdering.Default, new FakeTimeProvider(Start));
        foreach (var entry in waiting)
            queue.Add(entry);
        return new ShardSnapshot(QueueOverviews.Group(queue.Entries),
            QueueOverviews.Group((taken ?? []).Select(e => (e.Priority, e.Tenant, e.EnqueuedAtTicks))), loading);
    }

    [Fact]
    public void Two_shards_add_up_per_priority_and_tenant_with_weights_shares_and_the_oldest_wait()
    {
        var first = Shard([Job("gold", 80, minutes: 5), Job("gold", 50, minutes: 1), Job(null, 50, minutes: 3)], taken: [Job("gold", 80, minutes: -60)]);
        var second = Shard([Job("gold", 50, minutes: 2), Job("acme", 50, minutes: 4)]);

        var queue = QueueOverviews.Compose("reports", [first, second, null], Weights());

        Assert.Equal(("reports", 3, 5L, 1L, 0, 1), (queue.Queue, queue.Shards, queue.Waiting, queue.Taken, queue.ShardsLoading, queue.ShardsUnanswered));
        // A taken job waits no more: the oldest wait is the oldest still waiting (minute 1), not the taken one's.
        Assert.Equal(Start.AddMinutes(1), queue.OldestWaitingSince);
        // (Arrays: an ImmutableArray's own equality compares references.)
        Assert.Equal(new[] { new PriorityDepth(80, 1, 1, Start.AddMinutes(5)), new PriorityDepth(50, 4, 0, Start.AddMinutes(1)) }, queue.ByPriority.ToArray());
        // Jobs without a tenant count as the default one; gold weighs 3 of the 5 waiting tenants' weight.
        Assert.Equal(
        [
            new TenantShare("acme", 1, 1, 0, 0.2, Start.AddMinutes(4)),
            new TenantShare(JobRequest.DefaultTenant, 1, 1, 0, 0.2, Start.AddMinutes(3)),
            new TenantShare("gold", 3, 3, 1, 0.6, Start.AddMinutes(1)),
        ], queue.Tenants.OrderBy(t => t.Tenant, StringComparer.Ordinal));
    }

    [Fact]
    public void A_tenant_with_only_taken_jobs_has_no_share_and_no_wait_and_fair_share_off_gives_no_shares()
    {
        var shard = Shard([Job("acme")], taken: [Job("gold")]);

        var fair = QueueOverviews.Compose("q", [shard], Weights());
        var gold = Assert.Single(fair.Tenants, t => t.Tenant == "gold");
        Assert.Equal((0d, (DateTimeOffset?)null, 1L), (gold.Share, gold.OldestWaitingSince, gold.Taken));
        Assert.Equal(1d, Assert.Single(fair.Tenants, t => t.Tenant == "acme").Share);

        var strict = QueueOverviews.Compose("q", [shard], Weights(fairShare: false));
        Assert.All(strict.Tenants, t => Assert.Equal(0d, t.Share));
    }

    [Fact]
    public void An_empty_queue_has_no_oldest_wait_and_no_rows()
    {
        var queue = QueueOverviews.Compose("q", [Shard([]), Shard([], loading: true)], Weights());

        Assert.Equal((0L, 0L, (DateTimeOffset?)null, 1), (queue.Waiting, queue.Taken, queue.OldestWaitingSince, queue.ShardsLoading));
        Assert.Empty(queue.ByPriority);
        Assert.Empty(queue.Tenants);
    }

    [Fact]
    public void Many_tenants_keep_the_largest_by_name_and_sum_the_rest_per_priority_with_their_oldest()
    {
        var jobs = new List<(int, string?, long)>();
        for (var t = 0; t < WaitingCount.MaxGroups + 50; t++)
        {
            // Tenant t0 has the most jobs; the last tenants one each, the very last the oldest of all.
            for (var i = 0; i < (t < 100 ? 3 : 1); i++)
                jobs.Add((50, "t" + t, Start.AddMinutes(t == WaitingCount.MaxGroups + 49 ? -10 : t).UtcTicks));
        }

        var groups = QueueOverviews.Group(jobs);

        Assert.True(groups.Length <= WaitingCount.MaxGroups);
        Assert.Equal(jobs.Count, groups.Sum(g => g.Count));
        Assert.Contains(groups, g => g.Tenant == "t0" && g.Count == 3);
        var rest = Assert.Single(groups, g => g.Tenant is null);
        Assert.Equal(Start.AddMinutes(-10).UtcTicks, rest.OldestTicks);
        var queue = QueueOverviews.Compose("q", [new ShardSnapshot(groups, [], false)], Weights());
        Assert.Null(queue.Tenants[^1].Tenant);
        Assert.Equal(rest.Count, queue.Tenants[^1].Waiting);
    }
}
