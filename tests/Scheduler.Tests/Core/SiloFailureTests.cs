using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Storage;
using Scheduler.Tests.FlowControl;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>Two silos sharing one (in-memory) store; one of them dies while it runs a job (one holding a concurrency key, too).</summary>
public sealed class SiloFailureTests : IAsyncLifetime
{
    private readonly ExecutionBook _book = new();
    private readonly InMemoryJobStore _jobs = new();
    private readonly InMemoryGrainStateStore _states = new();
    private InProcessTestCluster _cluster = null!;
    private ISchedulerClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ClusterId = builder.Options.ServiceId = $"kill-{Guid.NewGuid():N}";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = 2;
                o.ShardsPerQueue = 2;
                // Short for quick failovers, yet above the 1-2 s stalls of a loaded 2-core CI host, which self-fenced attempts at 2 s.
                o.LeasePeriod = TimeSpan.FromSeconds(4);
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(1);
            });
            silo.UseInMemorySchedulerStorage(_jobs, _states);
            silo.Services.AddSingleton(_book);
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.Name);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        _client = SchedulerClientFactory.Create(_cluster.Client);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task RunningJob_RunsAgainOnTheSurvivor_WhenItsSiloIsKilled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var tag = $"kill-{Guid.NewGuid():N}";
        // The first attempt would run for two minutes; any later one finishes at once.
        var job = await _client.SubmitAsync(Payloads.WorkJob(tag: tag) with { Payload = Payloads.Work(tag: tag, firstAttemptSleepMs: 120_000) }, cts.Token);
        while (_book.Of(job.Id).Count == 0)
            await Task.Delay(50, cts.Token);
        var first = _book.Of(job.Id).Single();
        var victim = _cluster.Silos.Single(s => s.SiloAddress.ToString() == first.Silo);

        await _cluster.KillSiloAsync(victim);
        var status = await WaitThroughTheKillAsync(job.Id, TimeSpan.FromSeconds(100), cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(2, status.Attempt);
        var runs = _book.Of(job.Id);
        Assert.Equal([1, 2], runs.Select(r => r.Attempt));
        Assert.NotEqual(first.Silo, runs[1].Silo);
    }

    [Fact]
    public async Task LongJob_KeepsItsLease_AndRunsOnce_WhileItsSiloIsHealthy()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var tag = $"long-{Guid.NewGuid():N}";
        // Three and a half lease periods: only heartbeats keep the attempt from being requeued.
        var job = await _client.SubmitAsync(Payloads.WorkJob(sleepMs: 14_000, tag: tag), cts.Token);

        var status = await _client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(60), cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(1, status.Attempt);
        Assert.Single(_book.Of(job.Id));
    }

    [Fact]
    public async Task HolderLostWithItsSilo_FreesItsSlot_AndTheKeyNeverHasTwoHolders()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var tag = $"kill-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"upload:{tag}");
        // The holder's first attempt would run for two minutes; later attempts, and the waiters, end at once.
        var holder = await _client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key) with { Payload = Payloads.Work(tag: tag, firstAttemptSleepMs: 120_000) }, cts.Token);
        while (_book.Of(holder.Id).Count == 0)
            await Task.Delay(50, cts.Token);
        var waiters = await _client.SubmitManyAsync([.. Enumerable.Range(0, 3).Select(_ => FlowClusterFixture.Keyed(tag, 100, key))], cts.Token);
        while ((await _client.GetKeyAsync(key.Key, cts.Token)).Waiters.Length < 3)
            await Task.Delay(50, cts.Token);
        var first = _book.Of(holder.Id).Single();

        await _cluster.KillSiloAsync(_cluster.Silos.Single(s => s.SiloAddress.ToString() == first.Silo));
        var statuses = await Task.WhenAll(waiters.Append(holder).Select(async j => (await WaitThroughTheKillAsync(j.Id, TimeSpan.FromSeconds(120), cts.Token))!));

        if (statuses.Any(s => s.State != JobState.Succeeded))
        {
            var seen = await _client.GetKeyAsync(key.Key, cts.Token);
            Assert.Fail($"holders {string.Join(",", seen.Holders)}; waiters {string.Join(",", seen.Waiters)}; jobs {string.Join("; ", statuses.Select(s => $"{s.Id} {s.State} {s.Attempt} {s.WaitingFor}"))}");
        }
        Assert.Equal(2, statuses.Last().Attempt);
        // The killed attempt's handler never ended: count it as running until the end, as a dead silo's may be.
        Assert.Equal(1, FlowClusterFixture.MostAtOnce(_book.Tagged(tag).Where(r => !(r.Id == holder.Id && r.Attempt == 1))));
        Assert.Empty((await _client.GetKeyAsync(key.Key, cts.Token)).Holders);
    }

    /// <summary>
    /// Waits for the job's end. A call routed to the killed silo's gateway fails until the client drops that
    /// gateway; such a call is made again, so the test sees the job's fate, not the client's reconnection.
    /// </summary>
    private async Task<JobStatus?> WaitThroughTheKillAsync(JobId id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return await _client.WaitForFinalAsync(id, deadline - DateTime.UtcNow, cancellationToken);
            }
            catch (SchedulerException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }
}
