using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Workflows;

/// <summary>A queue shard that loads its jobs from their rows (after a restart or a move) keeps their workflows' order.</summary>
[Collection(EmbeddedClusterCollection.Name)]
public sealed class SizeHintReloadTests(EmbeddedClusterFixture fixture)
{
    [Fact]
    public async Task ShardActivation_OrdersStoredJobsBySizeHintThenTheirWorkflowsCreation_NotTheirOwn()
    {
        using var cts = Bounded.Timeout(60);
        var client = fixture.Cluster.Client;
        var options = fixture.SiloServices.GetRequiredService<IOptions<SchedulerOptions>>().Value;
        // A queue no silo serves, so its shard activates only when asked, from the rows alone.
        var queue = "reload-" + Guid.NewGuid().ToString("N")[..12];
        var now = DateTimeOffset.UtcNow;
        JobId InShard0()
        {
            var id = JobId.New();
            return options.ShardOf(id) == 0 ? id : InShard0();
        }

        // Created in this order, queued the other way round: the smaller workflows first, the older of them first. Each
        // comes back from its row at the place its submit gave it.
        var (big, youngSmall, oldSmall) = (InShard0(), InShard0(), InShard0());
        var queuedAs = new Dictionary<JobId, QueueEntry>();
        foreach (var (id, order) in new[]
        {
            (big, new QueueOrder(now.AddMinutes(-1), 5_000)),
            (youngSmall, new QueueOrder(now.AddSeconds(-10), 10)),
            (oldSmall, new QueueOrder(now.AddMinutes(-5), 10)),
        })
        {
            var submitted = await client.GetGrain<IJobGrain>(id.Value)
                .Submit(new JobRequest { Handler = "noop", Id = id, Queue = queue }, order).WaitAsync(cts.Token);
            Assert.Equal(SubmitOutcome.Accepted, submitted.Result.Outcome);
            queuedAs[id] = Assert.NotNull(submitted.Waiting).Entry;
        }

        var pulled = await client.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey(queue, 0))
            .Pull(10, JobPriority.Min, fixture.Cluster.Silos[0].SiloAddress, 1, tenant: null).WaitAsync(cts.Token);

        Assert.Equal([queuedAs[oldSmall], queuedAs[youngSmall], queuedAs[big]], pulled.Entries.ToArray());
        foreach (var id in new[] { big, youngSmall, oldSmall })
            await client.GetGrain<IJobGrain>(id.Value).Cancel("test over").WaitAsync(cts.Token);
    }
}
