using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Limits;
using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.FlowControl;

/// <summary>Two in-process silos sharing in-memory stores, 4 job slots each, with flow control defaults configured.</summary>
public sealed class FlowClusterFixture : IAsyncLifetime
{
    public const int SlotsPerSilo = 4;

    /// <summary>A handler whose jobs hold "upload:{payload.tag}" (limit 1) by default.</summary>
    public const string UploadHandler = "test.flow.upload";

    /// <summary>A queue whose jobs hold "serial:{queue}" (limit 1) by default.</summary>
    public const string SerialQueue = "serial";

    /// <summary>A queue for the exclusive tests.</summary>
    public const string MaintenanceQueue = "maint";

    /// <summary>A key configured with limit 2.</summary>
    public const string ConfiguredKey = "configured:pair";

    public ExecutionBook Book { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public ISchedulerClient Client { get; private set; } = null!;

    private readonly InMemoryJobStore _jobs = new();
    private readonly InMemoryGrainStateStore _states = new();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ClusterId = builder.Options.ServiceId = $"flow-{Guid.NewGuid():N}";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = SlotsPerSilo;
                o.Queues = ["default", SerialQueue, MaintenanceQueue];
                o.ShardsPerQueue = 2;
                // The default lease: tests here hold keys with long-running blockers, and a shorter lease's self-fence
                // (1.5 s without a confirmed renewal, with a 2 s lease) stopped a blocker during a GC or thread-pool
                // stall on a loaded machine, handing its key to the jobs a test was still counting as waiters.
                o.LeasePeriod = TimeSpan.FromSeconds(8);
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(1);
                o.FlowControl.Handlers[UploadHandler] = [new KeyTemplateOptions { Key = "upload:{payload.tag}" }];
                o.FlowControl.Queues[SerialQueue] = [new KeyTemplateOptions { Key = "serial:{queue}", Limit = 1 }];
                o.FlowControl.Keys.Add(new KeyOptions { Key = ConfiguredKey, Limit = 2 });
            });
            silo.UseInMemorySchedulerStorage(_jobs, _states);
            silo.Services.AddSingleton(Book);
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.Name);
            silo.Services.AddJobHandler<WorkHandler>(UploadHandler);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = SchedulerClientFactory.Create(Cluster.Client);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>Waits until <paramref name="key"/> lists <paramref name="waiters"/> waiters.</summary>
    public async Task WaitForWaitersAsync(string key, int waiters, CancellationToken cancellationToken)
    {
        while ((await Client.GetKeyAsync(key, cancellationToken)).Waiters.Length < waiters)
            await Task.Delay(50, cancellationToken);
    }

    public static JobRequest Keyed(string tag, int sleepMs, params ConcurrencyKey[] keys) =>
        Payloads.WorkJob(sleepMs: sleepMs, tag: tag) with { Concurrency = [.. keys] };

    /// <summary>The most runs of the given executions that overlap in time at any moment.</summary>
    public static int MostAtOnce(IEnumerable<Infrastructure.Execution> runs)
    {
        var edges = runs.SelectMany(r => new[] { (At: r.Started, Delta: 1), (At: r.Ended ?? DateTimeOffset.MaxValue, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta); // an end at the same instant as a start counts first
        int now = 0, most = 0;
        foreach (var edge in edges)
        {
            now += edge.Delta;
            most = Math.Max(most, now);
        }
        return most;
    }
}

[CollectionDefinition(Name)]
public sealed class FlowClusterCollection : ICollectionFixture<FlowClusterFixture>
{
    public const string Name = "flow cluster";
}
