using Scheduler.Workers;

namespace Scheduler.Tests.Unit;

/// <summary>Choosing between shards at equal priority: tenant turns, then smaller, then older (docs/queues.md).</summary>
public sealed class ShardHeadsFairnessTests
{
    private static ShardHead Head(string tenant, long enqueuedAt, long size = 0, int priority = 50) =>
        new(1, 5, priority, enqueuedAt, Epoch: 1, TopTenant: tenant, TopSizeHint: size);

    private static QueueEntry Started(string tenant) => new(JobId.New(), 50, 0, 0, tenant);

    [Fact]
    public void A_tenant_this_silo_has_served_less_goes_before_an_older_head_of_a_busier_tenant()
    {
        var heads = new ShardHeads(2, _ => 1);
        heads.Observe(0, Head("flood", enqueuedAt: 1));
        heads.Observe(1, Head("few", enqueuedAt: 100));
        Assert.Equal(0, heads.PickPull().Shard); // level: the older head

        heads.Served([Started("flood")]);

        Assert.Equal(1, heads.PickPull().Shard);
        heads.Served([Started("few")]);
        Assert.Equal(0, heads.PickPull().Shard);
    }

    [Fact]
    public void Weights_let_a_heavier_tenant_go_first_more_often()
    {
        var heads = new ShardHeads(2, t => t == "gold" ? 2 : 1);
        heads.Observe(0, Head("gold", enqueuedAt: 100));
        heads.Observe(1, Head("basic", enqueuedAt: 1));
        var picks = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var tenant = heads.PickPull().Shard == 0 ? "gold" : "basic";
            picks.Add(tenant);
            heads.Served([Started(tenant)]);
        }

        Assert.Equal(4, picks.Count(t => t == "gold"));
    }

    [Fact]
    public void Priority_still_comes_first_and_size_before_age()
    {
        var heads = new ShardHeads(3, _ => 1);
        heads.Observe(0, Head("a", enqueuedAt: 1, size: 500));
        heads.Observe(1, Head("a", enqueuedAt: 9, size: 5));
        heads.Observe(2, Head("a", enqueuedAt: 99, size: 9_999, priority: 40));

        Assert.Equal((1, 50, "a", int.MaxValue), heads.PickPull()); // one tenant: a whole batch
    }

    [Fact]
    public void A_tenant_waiting_behind_another_tenants_head_goes_before_older_heads_elsewhere()
    {
        var heads = new ShardHeads(2, _ => 1);
        heads.Observe(0, Head("flood", enqueuedAt: 1));
        heads.Observe(1, Head("flood", enqueuedAt: 50) with { Behind = [new TenantHead("few", 0, 100)] });
        Assert.Equal((0, 50, "flood", 1), heads.PickPull()); // two tenants: one round of shard 0's turns

        heads.Served([Started("flood")]);

        // "few" has been served less: its job behind shard 1's head is asked for by name.
        Assert.Equal((1, 50, "few", 2), heads.PickPull());
    }

    [Fact]
    public void One_slot_draining_four_shards_starts_a_later_tenants_jobs_every_other_start()
    {
        var random = new Random(17);
        var start = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero).UtcTicks;
        for (var run = 0; run < 50; run++)
        {
            var shards = Enumerable.Range(0, 4).Select(_ => new Scheduler.Queues.ShardQueue()).ToArray();
            for (var i = 0; i < 40; i++)
                shards[random.Next(4)].Add(new QueueEntry(JobId.New(), 50, start + i, 0, "flood"));
            for (var i = 0; i < 5; i++)
                shards[random.Next(4)].Add(new QueueEntry(JobId.New(), 50, start + 100 + i, 0, "few"));
            var heads = new ShardHeads(4, _ => 1);
            var order = new List<string>();
            while (order.Count < 45)
            {
                for (var s = 0; s < 4; s++)
                    heads.Observe(s, HeadOf(shards[s]));
                var (shard, floor, tenant, _) = heads.PickPull();
                var taken = shards[shard].Take(1, floor, tenant);
                heads.Served(taken);
                order.AddRange(taken.Select(e => e.Tenant!));
            }

            // Wherever its jobs landed: the 2nd, 4th, ... 10th start.
            Assert.Equal([1, 3, 5, 7, 9], order.Select((t, i) => (t, i)).Where(x => x.t == "few").Select(x => x.i));
        }
    }

    [Fact]
    public void Pulls_of_sixteen_slots_still_give_a_later_tenant_every_other_start()
    {
        var random = new Random(17);
        var start = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero).UtcTicks;
        for (var run = 0; run < 50; run++)
        {
            var shards = Enumerable.Range(0, 4).Select(_ => new Scheduler.Queues.ShardQueue()).ToArray();
            for (var i = 0; i < 400; i++)
                shards[random.Next(4)].Add(new QueueEntry(JobId.New(), 50, start + i, 0, "flood"));
            for (var i = 0; i < 10; i++)
                shards[random.Next(4)].Add(new QueueEntry(JobId.New(), 50, start + 1_000 + i, 0, "few"));
            var heads = new ShardHeads(4, _ => 1);
            var order = new List<string>();
            while (order.Count < 410)
            {
                for (var s = 0; s < 4; s++)
                    heads.Observe(s, HeadOf(shards[s]));
                var (shard, floor, tenant, batch) = heads.PickPull();
                var taken = shards[shard].Take(Math.Min(16, batch), floor, tenant);
                heads.Served(taken);
                order.AddRange(taken.Select(e => e.Tenant!));
            }

            // In pull order, wherever its jobs landed: never more than two starts apart, as with one slot.
            var few = order.Select((t, i) => (t, i)).Where(x => x.t == "few").Select(x => x.i).ToArray();
            Assert.True(few[0] <= 1, $"run {run}: first at {few[0]}");
            Assert.All(few.Zip(few.Skip(1), (a, b) => b - a), gap => Assert.InRange(gap, 1, 2));
        }
    }

    [Fact]
    public void A_tenant_waiting_alone_is_pulled_a_whole_batch_at_a_time()
    {
        var heads = new ShardHeads(2, _ => 1);
        heads.Observe(0, Head("flood", enqueuedAt: 1));
        heads.Observe(1, Head("flood", enqueuedAt: 2));
        Assert.Equal(int.MaxValue, heads.PickPull().Batch);

        heads.Observe(1, Head("flood", enqueuedAt: 2) with { Behind = [new TenantHead("few", 0, 3)] });
        Assert.Equal((0, 1), (heads.PickPull().Shard, heads.PickPull().Batch));
    }

    [Fact]
    public void A_round_gives_a_heavier_tenant_as_many_jobs_as_its_weight()
    {
        var heads = new ShardHeads(2, t => t == "gold" ? 3 : 1);
        heads.Observe(0, Head("gold", enqueuedAt: 1) with { Behind = [new TenantHead("basic", 0, 2)] });
        heads.Observe(1, Head("basic", enqueuedAt: 3));
        Assert.Equal((0, 4), (heads.PickPull().Shard, heads.PickPull().Batch));

        heads.Observe(0, Head("gold", enqueuedAt: 1, priority: 40) with { Behind = [new TenantHead("basic", 0, 2)] });
        // Alone at the top priority: a whole batch, the lower level waiting as it always did.
        Assert.Equal((1, int.MaxValue), (heads.PickPull().Shard, heads.PickPull().Batch));
    }

    private static ShardHead HeadOf(Scheduler.Queues.ShardQueue queue) => queue.Peek is { } top
        ? new(1, queue.Count, queue.TopPriority, top.EnqueuedAtTicks, 1, top.Tenant, top.SizeHint, queue.Behind(ShardHead.MaxBehind))
        : new(1, 0, 0, 0, 1);
}
