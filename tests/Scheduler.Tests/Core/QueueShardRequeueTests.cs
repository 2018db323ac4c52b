using System.Net;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>
/// A shard queues again the jobs it handed to a silo that, by its own report, does not hold them: the answer of a
/// pull, an acknowledgement or a return was lost on the way (silos dying). Each test uses a shard of a queue no silo
/// serves, so only the test pulls from it.
/// </summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class QueueShardRequeueTests(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task JobsASiloDoesNotHold_AreQueuedAgain_OnlyOnceItsReportCoversTheirPull()
    {
        var shard = fixture.Cluster.Client.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey($"holding-{Guid.NewGuid():N}", 0));
        var silo = fixture.Cluster.Silos[0].SiloAddress;
        var elsewhere = SiloAddress.New(IPAddress.Loopback, 1, 1); // a silo the membership does not know: never counted dead
        var (a, b, c) = (Entry(30), Entry(20), Entry(10));
        await shard.Enqueue([a, b, c]);

        var mine = await shard.Pull(2, JobPriority.Min, silo, pull: 7, tenant: null);
        var theirs = await shard.Pull(1, JobPriority.Min, elsewhere, pull: 1, tenant: null);
        Assert.Equal([a.Id, b.Id], mine.Entries.Select(e => e.Id));
        Assert.Equal([c.Id], theirs.Entries.Select(e => e.Id));

        // A report that has not seen pull 7's answer yet leaves its jobs alone: the answer may still be on its way.
        Assert.Equal(0, (await shard.RequeueUnheld(silo, settledPull: 6, held: [])).Requeued);
        Assert.True((await shard.WatchHead(default, TimeSpan.Zero)).IsEmpty);

        // Pull 7 settled and only a arrived: b goes back to the queue; the other silo's job stays with it.
        Assert.Equal(1, (await shard.RequeueUnheld(silo, settledPull: 7, held: [a.Id])).Requeued);
        var again = await shard.Pull(10, JobPriority.Min, silo, pull: 8, tenant: null);
        Assert.Equal([b.Id], again.Entries.Select(e => e.Id));

        // Acknowledged and held jobs are not queued again.
        await shard.Ack([a.Id]);
        Assert.Equal(0, (await shard.RequeueUnheld(silo, settledPull: 8, held: [b.Id])).Requeued);
        Assert.Equal(0, (await shard.RequeueUnheld(elsewhere, settledPull: 0, held: [])).Requeued);
        Assert.True((await shard.WatchHead(default, TimeSpan.Zero)).IsEmpty);

        // A job returned while its return was lost: the report without it settles it.
        Assert.Equal(1, (await shard.RequeueUnheld(silo, settledPull: 8, held: [])).Requeued);
        Assert.Equal([b.Id], (await shard.Pull(10, JobPriority.Min, silo, pull: 9, tenant: null)).Entries.Select(e => e.Id));
    }

    private static QueueEntry Entry(int priority) => new(JobId.New(), priority, DateTimeOffset.UtcNow.UtcTicks);
}
