using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// One in-process silo with the scheduler on the embedded SQLite storage (the default profile, group commit and all),
/// 4 job slots, one shard per queue (so a queue is strictly first in, first out), and the real SDK. Workflows count as
/// quiet at once (<see cref="SchedulerOptions.WorkflowQuietPeriod"/> 0) but the watchdogs' reminders are never
/// registered: only a test's own <see cref="IWorkflowWatchdogGrain.Sweep"/> looks for stranded workflows.
/// </summary>
public sealed class EmbeddedSchedulerFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public RunBook Runs { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public ISchedulerClient Client { get; private set; } = null!;
    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = 4;
                o.ShardsPerQueue = 1;
                o.WorkflowQuietPeriod = TimeSpan.Zero;
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(2);
            });
            silo.UseEmbeddedSchedulerStorage(Path.Combine(_dir.Path, "data"));
            silo.Services.AddSingleton(Runs);
            silo.Services.AddJobHandler<CountingHandler>(CountingHandler.Name);
            foreach (var starter in silo.Services.Where(d => d.ImplementationType == typeof(WorkflowWatchdogStarter)).ToList())
                silo.Services.Remove(starter);
        });
        Cluster = builder.Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await Cluster.DeployAsync(cts.Token).WaitAsync(cts.Token);
        Client = SchedulerClientFactory.Create(Cluster.Client, new SchedulerClientOptions());
    }

    public async Task DisposeAsync()
    {
        Runs.ReleaseAll();
        if (Cluster is not null)
            await Cluster.DisposeAsync();
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedSchedulerCollection : ICollectionFixture<EmbeddedSchedulerFixture>
{
    public const string Name = "embedded scheduler";
}

/// <summary>How often <see cref="CountingHandler"/> ran each job, and which of its jobs it holds until a test releases them.</summary>
public sealed class RunBook
{
    private readonly ConcurrentDictionary<JobId, int> _runs = new();
    private readonly ConcurrentDictionary<JobId, TaskCompletionSource> _holds = new();

    /// <summary>Attempts of <paramref name="id"/> that have started.</summary>
    public int Of(JobId id) => _runs.GetValueOrDefault(id);

    /// <summary>Makes every attempt of <paramref name="id"/> (call before it starts) wait for <see cref="Release"/>.</summary>
    public void Hold(JobId id) => _holds.TryAdd(id, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release(JobId id)
    {
        if (_holds.TryGetValue(id, out var hold))
            hold.TrySetResult();
    }

    public void ReleaseAll()
    {
        foreach (var hold in _holds.Values)
            hold.TrySetResult();
    }

    /// <summary>Completes when <paramref name="id"/> has started <paramref name="runs"/> attempts.</summary>
    public async Task WaitForRunsAsync(JobId id, int runs, CancellationToken cancellationToken)
    {
        while (Of(id) < runs)
            await Task.Delay(20, cancellationToken);
    }

    internal Task RunAsync(JobId id, CancellationToken cancellationToken)
    {
        _runs.AddOrUpdate(id, 1, (_, n) => n + 1);
        return _holds.TryGetValue(id, out var hold) ? hold.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
    }
}

/// <summary>Counts its runs in the <see cref="RunBook"/> and succeeds (once the book releases the job, if it holds it).</summary>
public sealed class CountingHandler(RunBook book) : IJobHandler
{
    public const string Name = "test.count";

    public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        await book.RunAsync(context.Id, cancellationToken);
        return JobResult.Success();
    }
}
