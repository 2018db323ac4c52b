using Scheduler.Workers;

namespace Scheduler.Tests.Unit;

/// <summary>Which shard a silo pulls from next, and how far down in priority it may take.</summary>
public sealed class ShardHeadsTests
{
    private static ShardHead Head(int count, int priority, long enqueuedAt = 1) => new(1, count, priority, enqueuedAt, Epoch: 1);

    [Fact]
    public void Pick_WaitsUntilEveryShardHasAnswered()
    {
        var heads = new ShardHeads(3);
        heads.Observe(0, Head(count: 5, priority: 10));
        heads.Observe(1, Head(count: 0, priority: 0));

        // Shard 2 has not answered since start: it may hold more urgent jobs than shard 0.
        Assert.Equal(-1, heads.PickPull().Shard);

        heads.Observe(2, Head(count: 1, priority: 90));
        Assert.Equal((2, 10, null, int.MaxValue), heads.PickPull());
    }

    [Fact]
    public void Pick_DoesNotWaitForAShardWhoseWatchFailed()
    {
        var heads = new ShardHeads(2);
        heads.Observe(0, Head(count: 5, priority: 10));
        Assert.Equal(-1, heads.PickPull().Shard);

        heads.Forget(1, watchFailed: true);
        Assert.Equal((0, JobPriority.Min, null, int.MaxValue), heads.PickPull());
    }

    [Fact]
    public void Pick_TakesTheMostUrgentHead_ThenTheOldest_WithTheBestOtherPriorityAsFloor()
    {
        var heads = new ShardHeads(3);
        heads.Observe(0, Head(count: 3, priority: 50, enqueuedAt: 20));
        heads.Observe(1, Head(count: 3, priority: 50, enqueuedAt: 10));
        heads.Observe(2, Head(count: 3, priority: 20));

        Assert.Equal((1, 50, null, int.MaxValue), heads.PickPull());

        // A failed pull forgets the head (the shard may come back as a new activation) until it answers again.
        heads.Forget(1, watchFailed: false);
        Assert.Equal((0, 20, null, int.MaxValue), heads.PickPull());
        heads.Forget(0, watchFailed: false);
        heads.Forget(2, watchFailed: false);
        Assert.Equal(-1, heads.PickPull().Shard);
    }
}
