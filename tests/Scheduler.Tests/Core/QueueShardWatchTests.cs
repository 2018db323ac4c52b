using System.Collections.Immutable;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>
/// When a queue shard wakes the silos that watch it. Each test uses a shard of a queue no silo serves, so only the
/// test pulls from it.
/// </summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class QueueShardWatchTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Watchers_WakeWhenTheShardFills_ButNotWhenAPullEmptiesIt()
    {
        var shard = NewShard();
        var first = await shard.WatchHead(default, TimeSpan.Zero);
        Assert.True(first.IsEmpty);

        var watching = shard.WatchHead(first, Patience);
        await shard.Enqueue([Entry(priority: 10)]);
        var filled = await watching.WaitAsync(Patience);
        Assert.Equal(1, filled.Count);
        Assert.True(filled.Supersedes(first));

        var pulled = await shard.Pull(10, JobPriority.Min, fixture.Cluster.Silos[0].SiloAddress, 1, tenant: null);
        Assert.Single(pulled.Entries);
        Assert.True(pulled.Head.IsEmpty);
        Assert.True(pulled.Head.Supersedes(filled), "the pull's empty head is newer than the watch's full one");
        Assert.False(filled.Supersedes(pulled.Head));

        // Emptying wakes nobody: a watcher that knows the emptied head waits out its whole wait.
        var unchanged = await shard.WatchHead(pulled.Head, TimeSpan.FromMilliseconds(300)).WaitAsync(Patience);
        Assert.True(unchanged.IsSameVersion(pulled.Head));
        Assert.True(unchanged.IsEmpty);
    }

    [Fact]
    public async Task Watchers_WakeWhenTheTopPriorityRises_ButNotForLessUrgentJobs()
    {
        var shard = NewShard();
        await shard.Enqueue([Entry(priority: 10)]);
        var known = await shard.WatchHead(default, TimeSpan.Zero);

        await shard.Enqueue([Entry(priority: 5)]);
        var afterLower = await shard.WatchHead(known, TimeSpan.FromMilliseconds(300)).WaitAsync(Patience);
        Assert.True(afterLower.IsSameVersion(known), "a less urgent job changes nothing a pool would act on");
        Assert.Equal(2, afterLower.Count);

        var watching = shard.WatchHead(afterLower, Patience);
        await shard.Enqueue([Entry(priority: 50)]);
        var afterHigher = await watching.WaitAsync(Patience);
        Assert.Equal(50, afterHigher.TopPriority);
        Assert.True(afterHigher.Supersedes(afterLower));
    }

    private IQueueShardGrain NewShard() =>
        fixture.Cluster.Client.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey($"watch-{Guid.NewGuid():N}", 0));

    private static QueueEntry Entry(int priority) => new(JobId.New(), priority, DateTimeOffset.UtcNow.UtcTicks);
}
