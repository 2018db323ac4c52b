using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Protection;
using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Protection;

/// <summary>
/// Two in-process silos sharing in-memory stores, one job slot each and one shard per queue (so a queue's order is
/// one shard's order), with breakers and bounded backlogs configured.
/// </summary>
public sealed class ProtectionClusterFixture : IAsyncLifetime
{
    /// <summary>Opens after 3 failures in a row; cool-down 2 s.</summary>
    public const string QuickBreakerHandler = "test.breaker";

    /// <summary>Opens after 2 failures in a row; cool-down 1 hour (closed by a reset).</summary>
    public const string SlowBreakerHandler = "test.breaker.slow";

    /// <summary>A key whose breaker opens when half of at least 4 outcomes failed; cool-down 1 hour.</summary>
    public const string BreakerKey = "api:down";

    /// <summary>A queue bounded to <see cref="QueueBound"/> Queued jobs.</summary>
    public const string BoundedQueue = "bounded";
    public const int QueueBound = 20;

    /// <summary>A tenant bounded to <see cref="TenantBound"/> Queued jobs.</summary>
    public const string GreedyTenant = "greedy";
    public const int TenantBound = 10;

    /// <summary>How often each silo counts the queued jobs.</summary>
    public static readonly TimeSpan CountInterval = TimeSpan.FromMilliseconds(200);

    public ExecutionBook Book { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public ISchedulerClient Client { get; private set; } = null!;

    private readonly InMemoryJobStore _jobs = new();
    private readonly InMemoryGrainStateStore _states = new();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ClusterId = builder.Options.ServiceId = $"protect-{Guid.NewGuid():N}";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = 1;
                o.Queues = ["default", "held", "other", "reports", BoundedQueue];
                o.ShardsPerQueue = 1;
                o.LeasePeriod = TimeSpan.FromSeconds(2);
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(1);
                o.Breakers.Handlers[QuickBreakerHandler] = new BreakerSettings { ConsecutiveFailures = 3, CoolDown = TimeSpan.FromSeconds(2) };
                o.Breakers.Handlers[SlowBreakerHandler] = new BreakerSettings { ConsecutiveFailures = 2, CoolDown = TimeSpan.FromHours(1) };
                o.Breakers.Keys.Add(new KeyBreakerSettings { Key = BreakerKey, FailureRatio = 0.5, MinimumThroughput = 4, CoolDown = TimeSpan.FromHours(1) });
                o.Backpressure.Queues[BoundedQueue] = QueueBound;
                o.Backpressure.Tenants[GreedyTenant] = TenantBound;
                o.Backpressure.RefreshInterval = CountInterval;
            });
            silo.UseInMemorySchedulerStorage(_jobs, _states);
            silo.Services.AddSingleton(Book);
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.Name);
            silo.Services.AddJobHandler<WorkHandler>(QuickBreakerHandler, o => o.MaxAttempts = 1);
            silo.Services.AddJobHandler<WorkHandler>(SlowBreakerHandler, o => o.MaxAttempts = 1);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = SchedulerClientFactory.Create(Cluster.Client);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ProtectionClusterCollection : ICollectionFixture<ProtectionClusterFixture>
{
    public const string Name = "protection cluster";
}
