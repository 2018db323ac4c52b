using Microsoft.Extensions.Time.Testing;
using Scheduler.Queues;

namespace Scheduler.Tests.Unit;

/// <summary>The order of one shard: fair share between tenants, small first, aging and priority changes (docs/queues.md).</summary>
public sealed class FairQueueOrderTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    private static QueueEntry Job(string tenant, int priority = 50, long ticks = 0, long size = 0) =>
        new(JobId.New(), priority, Start.UtcTicks + ticks, size, tenant);

    private static List<QueueEntry> Drain(ShardQueue queue) => [.. queue.Take(int.MaxValue, JobPriority.Min)];

    [Fact]
    public void A_later_tenants_jobs_start_every_other_start_while_a_flood_waits()
    {
        var queue = new ShardQueue();
        for (var i = 0; i < 100_000; i++)
            queue.Add(Job("a", ticks: i));
        var b = Enumerable.Range(0, 10).Select(i => Job("b", ticks: 200_000 + i)).ToList();
        b.ForEach(e => queue.Add(e));

        var order = Drain(queue);

        // Both tenants are level when b arrives, and a had joined first: a, b, a, b, ...
        var positions = b.Select(e => order.IndexOf(e)).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2 * i + 1), positions);
        // Each tenant's own jobs keep their order.
        Assert.Equal(b, order.Where(e => e.Tenant == "b"));
    }

    [Fact]
    public void A_later_tenants_few_jobs_are_told_they_start_soon_behind_a_flood()
    {
        // The answer to an enqueue: its submitter lets the grains of jobs placed deep go idle until their start.
        var queue = new ShardQueue();
        var flood = Enumerable.Range(0, 20_000).Select(i => Job("a", ticks: i)).ToList();
        flood.ForEach(e => queue.Add(e));
        var few = Enumerable.Range(0, 3).Select(i => Job("b", ticks: 30_000 + i)).ToList();
        few.ForEach(e => queue.Add(e));
        var urgent = Job("c", priority: 90, ticks: 40_000);
        queue.Add(urgent);

        Assert.Equal(10_000, queue.PlaceOfLast(flood, 10_000)); // counted no further than asked
        // b's three, a's three whose turns come first, and the urgent job above them.
        Assert.Equal(7, queue.PlaceOfLast(few, 10_000));
        Assert.Equal(1, queue.PlaceOfLast([urgent], 10_000));
        var order = Drain(queue);
        Assert.Equal(6, order.IndexOf(few[^1]));

        // Without fair share a tenant waits behind the whole level.
        var fifo = new ShardQueue(new QueueOrdering(false, _ => 1, null), TimeProvider.System);
        flood.ForEach(e => fifo.Add(e));
        few.ForEach(e => fifo.Add(e));
        Assert.Equal(10_000, fifo.PlaceOfLast(few, 10_000));
    }

    [Fact]
    public void A_tenant_that_arrives_after_others_were_served_gets_no_credit_for_its_idle_time()
    {
        var queue = new ShardQueue();
        for (var i = 0; i < 1_000; i++)
            queue.Add(Job("a", ticks: i));
        Assert.Equal(500, queue.Take(500, JobPriority.Min).Length);
        for (var i = 0; i < 100; i++)
            queue.Add(Job("b", ticks: 10_000 + i));

        var next = queue.Take(20, JobPriority.Min);

        // Alternating from here, not 100 of b's in a row to "catch up".
        Assert.Equal(10, next.Count(e => e.Tenant == "b"));
    }

    [Fact]
    public void Weights_share_starts_in_proportion()
    {
        var ordering = new QueueOrdering(true, t => t == "gold" ? 3 : 1, null);
        var queue = new ShardQueue(ordering, TimeProvider.System);
        for (var i = 0; i < 400; i++)
        {
            queue.Add(Job("gold", ticks: i));
            queue.Add(Job("basic", ticks: i));
        }

        var first = queue.Take(200, JobPriority.Min);

        Assert.Equal(150, first.Count(e => e.Tenant == "gold"));
        Assert.Equal(50, first.Count(e => e.Tenant == "basic"));
    }

    [Fact]
    public void Priority_stays_strict_between_levels_whatever_the_tenants()
    {
        var queue = new ShardQueue();
        var urgent = Enumerable.Range(0, 5).Select(i => Job("a", priority: 90, ticks: 100 + i)).ToList();
        var normal = Enumerable.Range(0, 5).Select(i => Job("b", priority: 50, ticks: i)).ToList();
        normal.ForEach(e => queue.Add(e));
        urgent.ForEach(e => queue.Add(e));

        Assert.Equal([.. urgent, .. normal], Drain(queue));
    }

    [Fact]
    public void Without_fair_share_one_line_per_level_serves_oldest_first()
    {
        var queue = new ShardQueue(new QueueOrdering(false, _ => 1, null), TimeProvider.System);
        var a = Enumerable.Range(0, 5).Select(i => Job("a", ticks: i)).ToList();
        var b = Enumerable.Range(0, 2).Select(i => Job("b", ticks: 100 + i)).ToList();
        a.Concat(b).ToList().ForEach(e => queue.Add(e));

        Assert.Equal([.. a, .. b], Drain(queue));
    }

    [Fact]
    public void Smaller_jobs_of_a_tenant_start_first_at_equal_priority()
    {
        var queue = new ShardQueue();
        var huge = Job("a", ticks: 1, size: 1_000_000);
        var small = Job("a", ticks: 3, size: 10);
        var medium = Job("a", ticks: 2, size: 5_000);
        var urgentHuge = Job("a", priority: 80, ticks: 9, size: 9_000_000);
        foreach (var e in new[] { huge, small, medium, urgentHuge })
            queue.Add(e);

        Assert.Equal([urgentHuge, small, medium, huge], Drain(queue));
    }

    [Fact]
    public void A_low_job_under_a_steady_high_flow_starts_once_aging_lifts_its_level()
    {
        // 10 points a minute, at most 40: a priority-10 job competes at 50 after 4 minutes.
        var clock = new FakeTimeProvider(Start);
        var queue = new ShardQueue(new QueueOrdering(true, _ => 1, new AgingRule(10, 40)), clock);
        var low = new QueueEntry(JobId.New(), 10, clock.GetUtcNow().UtcTicks, 0, "batch");
        queue.Add(low);
        var startedAt = (DateTimeOffset?)null;
        // A steady flow: every 5 s a new priority-50 job arrives and one job starts; high work never runs out.
        for (var second = 0; second <= 600 && startedAt is null; second += 5)
        {
            queue.Add(new QueueEntry(JobId.New(), 50, clock.GetUtcNow().UtcTicks, 0, "web"));
            if (queue.Take(1, JobPriority.Min).Single() == low)
                startedAt = clock.GetUtcNow();
            clock.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.NotNull(startedAt);
        var bound = new AgingRule(10, 40).WaitToReach(10, 50)!.Value;
        Assert.Equal(TimeSpan.FromMinutes(4), bound);
        Assert.InRange(startedAt!.Value - Start, bound, bound + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Without_aging_the_same_flow_starves_the_low_job()
    {
        var clock = new FakeTimeProvider(Start);
        var queue = new ShardQueue(new QueueOrdering(true, _ => 1, null), clock);
        var low = new QueueEntry(JobId.New(), 10, clock.GetUtcNow().UtcTicks, 0, "batch");
        queue.Add(low);
        for (var second = 0; second <= 600; second += 5)
        {
            queue.Add(new QueueEntry(JobId.New(), 50, clock.GetUtcNow().UtcTicks, 0, "web"));
            Assert.NotEqual(low, queue.Take(1, JobPriority.Min).Single());
            clock.Advance(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void Aging_stops_at_its_cap()
    {
        var clock = new FakeTimeProvider(Start);
        var queue = new ShardQueue(new QueueOrdering(true, _ => 1, new AgingRule(10, 20)), clock);
        queue.Add(new QueueEntry(JobId.New(), 10, clock.GetUtcNow().UtcTicks, 0, "batch"));
        clock.Advance(TimeSpan.FromHours(5));

        Assert.Equal(30, queue.TopPriority);
        Assert.Null(new AgingRule(10, 20).WaitToReach(10, 50));
    }

    [Fact]
    public void A_priority_change_moves_a_waiting_job_at_once()
    {
        var queue = new ShardQueue();
        var first = Job("a", ticks: 1);
        var second = Job("a", ticks: 2);
        var last = Job("a", priority: 10, ticks: 0);
        foreach (var e in new[] { first, second, last })
            queue.Add(e);

        Assert.True(queue.ChangePriority(last.Id, 90));
        Assert.True(queue.ChangePriority(first.Id, 5));
        Assert.False(queue.ChangePriority(JobId.New(), 90));

        Assert.Equal([last.Id, second.Id, first.Id], Drain(queue).Select(e => e.Id));
    }

    [Fact]
    public void Removing_a_tenants_jobs_leaves_the_others_in_order()
    {
        var queue = new ShardQueue();
        var a = Enumerable.Range(0, 3).Select(i => Job("a", ticks: i)).ToList();
        var b = Enumerable.Range(0, 3).Select(i => Job("b", ticks: i)).ToList();
        a.Concat(b).ToList().ForEach(e => queue.Add(e));
        b.ForEach(e => Assert.True(queue.Remove(e.Id)));

        Assert.Equal(a, Drain(queue));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_shard_names_the_tenants_waiting_behind_its_head_and_hands_out_the_one_asked_for_first()
    {
        var queue = new ShardQueue();
        var a = Enumerable.Range(0, 4).Select(i => Job("a", ticks: i)).ToList();
        var b = Job("b", ticks: 10, size: 7);
        var urgent = Job("c", priority: 90, ticks: 20);
        a.ForEach(e => queue.Add(e));
        queue.Add(b);
        Assert.Equal<TenantHead>([new TenantHead("b", 7, b.EnqueuedAtTicks)], queue.Behind(ShardHead.MaxBehind));
        queue.Add(urgent);
        // Only the head's level is named: "c" heads it alone.
        Assert.Empty(queue.Behind(ShardHead.MaxBehind));
        Assert.Equal<QueueEntry>([urgent], queue.Take(1, JobPriority.Min));

        // Asked for b: b first although a joined first, then turns go on (b has nothing left).
        Assert.Equal<QueueEntry>([b, a[0], a[1]], queue.Take(3, JobPriority.Min, first: "b"));
        // A tenant with nothing here, or no fair share, leaves the order as it is.
        Assert.Equal<QueueEntry>([a[2]], queue.Take(1, JobPriority.Min, first: "nobody"));
        var plain = new ShardQueue(new QueueOrdering(false, _ => 1, null), TimeProvider.System);
        plain.Add(a[3]);
        plain.Add(b);
        Assert.Empty(plain.Behind(ShardHead.MaxBehind));
        Assert.Equal<QueueEntry>([a[3], b], plain.Take(2, JobPriority.Min, first: "b"));
    }
}
