using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Storage;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Queues;

/// <summary>
/// A queue shard that activates on many more waiting rows than it reads in one page (as after a full restart with a
/// large backlog) hands them out in strict priority order, each once, while it is still reading them.
/// </summary>
[Collection(EmbeddedClusterCollection.Name)]
public sealed class ShardRebuildTests(EmbeddedClusterFixture fixture)
{
    [Fact]
    public async Task ShardActivation_OnMoreRowsThanAPage_HandsOutEveryJobOnceInStrictPriority_WhileJobsArriveDuringTheRebuild()
    {
        using var cts = Bounded.Timeout(120);
        var client = fixture.Cluster.Client;
        var options = fixture.SiloServices.GetRequiredService<IOptions<SchedulerOptions>>().Value;
        var store = fixture.SiloServices.GetRequiredService<IJobStore>();
        // A queue no silo serves: its shard activates only when asked, from the rows alone, as after a restart.
        var queue = "rebuild-" + Guid.NewGuid().ToString("N")[..12];
        var created = DateTimeOffset.UtcNow.AddHours(-1);
        JobId InShard0()
        {
            var id = JobId.New();
            return options.ShardOf(id) == 0 ? id : InShard0();
        }

        // 2.5 pages, mostly at the default priority, the most urgent ones created last (so they sort late by age).
        var rows = Enumerable.Range(0, OpenRowsPage.DefaultSize * 5 / 2).Select(i => new JobRecord(InShard0(), queue, 0,
            i % 50 == 49 ? 90 : i % 10 == 9 ? 70 : 50, $"tenant-{i % 3}", "noop", i % 7 == 6 ? JobState.Running : JobState.Queued, 0,
            created.AddMilliseconds(i), created.AddMilliseconds(i))).ToList();
        foreach (var chunk in rows.Chunk(500))
            await store.SaveAsync(chunk, cts.Token).WaitAsync(cts.Token);
        var priorities = rows.ToDictionary(r => r.Id, r => r.Priority);

        var shard = client.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey(queue, 0));
        var silo = fixture.Cluster.Silos[0].SiloAddress;
        var taken = new List<QueueEntry>();
        // The first pull activates the shard, which has read one page by then; the rest arrive while it hands them out.
        taken.AddRange((await shard.Pull(7, JobPriority.Min, silo, 1, tenant: null).WaitAsync(cts.Token)).Entries);
        // Jobs submitted meanwhile: one below every stored row (it must wait for them all), one above them.
        var (late, urgent) = (InShard0(), InShard0());
        await shard.Enqueue([new QueueEntry(late, 10, DateTimeOffset.UtcNow.UtcTicks), new QueueEntry(urgent, 95, DateTimeOffset.UtcNow.UtcTicks)])
            .WaitAsync(cts.Token);
        (priorities[late], priorities[urgent]) = (10, 95);
        var pull = 1L;
        while (taken.Count < priorities.Count)
        {
            var pulled = await shard.Pull(50, JobPriority.Min, silo, ++pull, tenant: null).WaitAsync(cts.Token);
            taken.AddRange(pulled.Entries);
            if (pulled.Entries.IsEmpty)
                await Task.Delay(10, cts.Token);
        }
        await shard.Ack([.. taken.Select(e => e.Id)]).WaitAsync(cts.Token);

        Assert.Equal(priorities.Count, taken.Select(e => e.Id).Distinct().Count());
        Assert.Equal(priorities.Count, taken.Count);
        // Strict priority, except what the first pull took before the urgent job was submitted.
        var afterSubmit = taken.Skip(7).Select(e => priorities[e.Id]).ToList();
        Assert.Equal(afterSubmit.OrderDescending(), afterSubmit);
        Assert.All(taken.Take(7), e => Assert.Equal(90, e.Priority));
        Assert.Equal(late, taken[^1].Id);
        Assert.True((await shard.WatchHead(default, TimeSpan.Zero).WaitAsync(cts.Token)).IsEmpty);
        await store.SaveAsync([.. rows.Select(r => r with { State = JobState.Cancelled })], cts.Token).WaitAsync(cts.Token);
    }
}
