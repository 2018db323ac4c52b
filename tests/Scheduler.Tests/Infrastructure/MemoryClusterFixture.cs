using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.TestingHost;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Storage;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// One in-process silo with in-memory storage and 2 job slots, shared by a test collection, and the real SDK
/// connected to it through the gateway.
/// </summary>
public sealed class MemoryClusterFixture : IAsyncLifetime
{
    public const int Capacity = 2;

    /// <summary>A queue with aging (see docs/queues.md).</summary>
    public const string AgedQueue = "aged";

    public ExecutionBook Book { get; } = new();
    public EnqueueFaults Faults { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public ISchedulerClient Client { get; private set; } = null!;
    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ClusterId = ClusterId;
        builder.Options.ServiceId = ClusterId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = Capacity;
                o.Queues = ["default", "reports", AgedQueue];
                // 10 points a second, at most 60: a priority-0 job there competes at 50 after about 5 s.
                o.Ordering.Aging[AgedQueue] = new Scheduler.Queues.AgingOptions { PointsPerMinute = 600, MaxBoost = 60 };
                o.ShardsPerQueue = 4;
                o.MaxPayloadBytes = 64 * 1024;
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(2);
            });
            silo.UseInMemorySchedulerStorage();
            silo.AddIncomingGrainCallFilter(Faults.Invoke);
            silo.Services.AddSingleton(Book);
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.Name);
            // The same handler under names with retry settings of their own.
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.StrictName, o =>
            {
                o.ExceptionsAreFatal = true;
                o.MaxAttempts = 5;
                o.Retry = new RetryPolicy { InitialDelay = TimeSpan.Zero };
            });
            silo.Services.AddJobHandler<WorkHandler>(WorkHandler.PatientName, o =>
            {
                o.MaxAttempts = 2;
                o.Retry = new RetryPolicy { InitialDelay = TimeSpan.FromHours(1), Jitter = RetryJitter.None };
            });
            silo.Services.AddJobHandler<Examples.ResizeImageHandler>("example.resize");
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = SchedulerClientFactory.Create(Cluster.Client, new SchedulerClientOptions { MaxPayloadBytes = 1024 * 1024, SubmitBatchSize = 100 });
    }

    public static async Task<IHost> StartClientAsync(int gatewayPort, string clusterId, TimeSpan? connectTimeout = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = [$"127.0.0.1:{gatewayPort}"];
            o.ClusterId = clusterId;
            o.ServiceId = clusterId;
            o.ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(20);
            o.MaxPayloadBytes = 1024 * 1024;
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MemoryClusterCollection : ICollectionFixture<MemoryClusterFixture>
{
    public const string Name = "memory cluster";
}

public static class Payloads
{
    public static System.Collections.Immutable.ImmutableArray<byte> Work(int sleepMs = 0, string outcome = "success", int failTimes = 0, string? tag = null, int firstAttemptSleepMs = 0) =>
        SchedulerClientExtensions.ToPayload(new WorkPayload(sleepMs, outcome, failTimes, tag, firstAttemptSleepMs));

    public static JobRequest WorkJob(int sleepMs = 0, string outcome = "success", int priority = JobPriority.Default, string? tag = null, int maxAttempts = 3, int failTimes = 0) => new()
    {
        Handler = WorkHandler.Name,
        Payload = Work(sleepMs, outcome, failTimes, tag),
        Priority = priority,
        Limits = new JobLimits { MaxAttempts = maxAttempts },
    };
}
