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
        Assert.Equal(0, heads.Pick().Shard); // level: the older head

        heads.Served([Started("flood")]);

        Assert.Equal(1, heads.Pick().Shard);
        heads.Served([Started("few")]);
        Assert.Equal(0, heads.Pick().Shard);
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
            var tenant = heads.Pick().Shard == 0 ? "gold" : "basic";
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

        Assert.Equal((1, 50), heads.Pick());
    }
}
