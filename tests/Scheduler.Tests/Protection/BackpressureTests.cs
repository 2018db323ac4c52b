using Scheduler.Client;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Protection;

[Collection(ProtectionClusterCollection.Name)]
public sealed class BackpressureTests(ProtectionClusterFixture fixture)
{
    private ISchedulerClient Client => fixture.Client;

    private static JobRequest Work(string queue = ProtectionClusterFixture.BoundedQueue, string tenant = JobRequest.DefaultTenant, int sleepMs = 0) => new()
    {
        Handler = WorkHandler.Name,
        Queue = queue,
        Tenant = tenant,
        Payload = Payloads.Work(sleepMs),
        Limits = new JobLimits { MaxAttempts = 1 },
    };

    [Fact]
    public async Task Submit_IsRefusedWholeWithRetryAfter_WhenTheQueueIsAtItsBound()
    {
        using var cts = Bounded.Timeout(60);
        var gate = $"queue:{ProtectionClusterFixture.BoundedQueue}";
        await Client.PauseGateAsync(gate, "fill the backlog", cts.Token);
        try
        {
            var accepted = new List<JobId>();
            for (var i = 0; i < ProtectionClusterFixture.QueueBound - 2; i++)
                accepted.Add((await Client.SubmitAsync(Work(), cts.Token)).Id);

            // A batch of three would take the queue to 21: refused whole, nothing stored. (The wait lets each silo's
            // count of the queue be taken again, so it includes what the other silo accepted.)
            await Task.Delay(ProtectionClusterFixture.CountInterval * 2, cts.Token);
            var batch = Enumerable.Range(0, 3).Select(_ => Work() with { Id = JobId.New() }).ToList();
            var refused = await Assert.ThrowsAsync<OverloadedException>(() => Client.SubmitManyAsync(batch, cts.Token));
            Assert.Equal(SchedulerErrorCode.Overloaded, refused.Code);
            Assert.True(refused.RetryAfter >= TimeSpan.FromSeconds(1), $"retry after {refused.RetryAfter}");
            Assert.Contains($"queue '{ProtectionClusterFixture.BoundedQueue}' has 18 queued jobs and a bound of 20", refused.Message);
            Assert.Empty(refused.Accepted);
            foreach (var request in batch)
                Assert.Null(await Client.GetStatusAsync(request.Id!.Value, cts.Token));

            // Two more fit exactly; the next does not.
            accepted.AddRange((await Client.SubmitManyAsync([Work(), Work()], cts.Token)).Select(r => r.Id));
            await Task.Delay(ProtectionClusterFixture.CountInterval * 2, cts.Token);
            await Assert.ThrowsAsync<OverloadedException>(() => Client.SubmitAsync(Work(), cts.Token));
            // Other queues are not bounded by it.
            var other = await Client.SubmitAsync(Work("other"), cts.Token);
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(other.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);

            await Client.ResumeGateAsync(gate, cts.Token);
            foreach (var id in accepted)
                Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(30), cts.Token))?.State);
        }
        finally
        {
            await Client.ResumeGateAsync(gate, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Flood_PastTheTenantBound_LeavesTheSiloServing_AndEveryAcceptedJobCompletes()
    {
        using var cts = Bounded.Timeout(120);
        var accepted = new System.Collections.Concurrent.ConcurrentBag<JobId>();
        var refused = 0;
        // 8 submitters, 25 batches of 5 each: 1,000 jobs against a bound of 10 queued jobs of the tenant.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < 25; i++)
            {
                try
                {
                    foreach (var result in await Client.SubmitManyAsync([.. Enumerable.Range(0, 5).Select(_ => Work("default", ProtectionClusterFixture.GreedyTenant, sleepMs: 5))], cts.Token))
                        accepted.Add(result.Id);
                }
                catch (OverloadedException e)
                {
                    Assert.Empty(e.Accepted);
                    Interlocked.Increment(ref refused);
                }
            }
        }));
        Assert.True(refused > 0, "the flood was never refused");
        Assert.NotEmpty(accepted);
        foreach (var id in accepted)
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), cts.Token))?.State);
        // Still serving: an unbounded tenant's job runs at once.
        var after = await Client.SubmitAsync(Work("default"), cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(after.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
    }

    [Fact]
    public async Task Sdk_RetriesAnOverloadedSubmit_WhenAskedTo_UntilTheBacklogDrains()
    {
        using var cts = Bounded.Timeout(60);
        var gate = $"queue:{ProtectionClusterFixture.BoundedQueue}";
        var patient = SchedulerClientFactory.Create(fixture.Cluster.Client, new SchedulerClientOptions { OverloadedRetryTimeout = TimeSpan.FromSeconds(40) });
        await Client.PauseGateAsync(gate, null, cts.Token);
        try
        {
            var filled = new List<JobId>();
            while (true)
            {
                try
                {
                    filled.Add((await Client.SubmitAsync(Work(), cts.Token)).Id);
                }
                catch (OverloadedException)
                {
                    break;
                }
            }
            var waiting = patient.SubmitAsync(Work(), cts.Token);
            await Task.Delay(1500, cts.Token);
            Assert.False(waiting.IsCompleted, "the submit did not wait for room");
            await Client.ResumeGateAsync(gate, cts.Token);
            var late = await waiting;
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(late.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
        }
        finally
        {
            await Client.ResumeGateAsync(gate, CancellationToken.None);
        }
    }
}
