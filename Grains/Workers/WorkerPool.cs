using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Workers;

/// <summary>
/// This silo's workers: starts and stops the parts that run pulled jobs, which hand work one way
/// (<see cref="ShardPuller"/> → <see cref="AttemptRunner"/> → <see cref="Slots"/>, <see cref="LeaseRenewer"/> and
/// <see cref="ShardReporter"/>; docs/design.md). On shutdown it stops pulling, lets running jobs finish within
/// <see cref="SchedulerOptions.ShutdownGracePeriod"/>, stops the rest, then stops renewing and reporting.
/// </summary>
public sealed partial class WorkerPool : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private static readonly TimeSpan LastWait = TimeSpan.FromSeconds(5);

    private readonly IGrainFactory _grains;
    private readonly SchedulerOptions _options;
    private readonly Slots _slots;
    private readonly ShardPuller _puller;
    private readonly AttemptRunner _runner;
    private readonly LeaseRenewer _leases;
    private readonly ShardReporter _reporter;
    private readonly ILogger<WorkerPool> _logger;
    private readonly CancellationTokenSource _stopPulling = new();
    private readonly CancellationTokenSource _stopUpkeep = new();
    private Task _pulling = Task.CompletedTask;
    private Task _upkeep = Task.CompletedTask; // lease renewals and shard reports: run until the last job has ended

    internal WorkerPool(IGrainFactory grains, IOptions<SchedulerOptions> options, Slots slots, ShardPuller puller, AttemptRunner runner,
        LeaseRenewer leases, ShardReporter reporter, ILogger<WorkerPool> logger)
    {
        _grains = grains;
        _options = options.Value;
        _slots = slots;
        _puller = puller;
        _runner = runner;
        _leases = leases;
        _reporter = reporter;
        _logger = logger;
    }

    /// <summary>True once the pool pulls work, until shutdown begins.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Jobs running on this silo now.</summary>
    public int Running => _slots.Running;

    /// <summary>What the pool believes now: free slots, running jobs, and each shard's head as last seen.</summary>
    public string Describe() => _puller.Describe();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkerPool), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        ShardRef[] shards = [.. _options.Queues.SelectMany(queue => Enumerable.Range(0, _options.ShardsPerQueue)
            .Select(i => SchedulerOptions.ShardKey(queue, i))
            .Select(key => new ShardRef(key, _grains.Reference<IQueueShardGrain>(key))))];
        _pulling = _puller.RunAsync(shards, _stopPulling.Token);
        _upkeep = Task.WhenAll(_leases.RunAsync(_stopUpkeep.Token), _reporter.RunAsync(shards, _stopUpkeep.Token));
        IsRunning = true;
        LogStarted(_logger, _options.MaxConcurrentJobs, shards.Length);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        IsRunning = false;
        _stopPulling.Cancel();
        _slots.Wake();
        await _pulling.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _runner.StopHandOffs();
        var idle = _slots.WhenIdle();
        if (!idle.IsCompleted)
        {
            LogDraining(_logger, Running, _options.ShutdownGracePeriod);
            try
            {
                await idle.WaitAsync(_options.ShutdownGracePeriod, cancellationToken);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                _runner.StopAll();
                await idle.WaitAsync(LastWait, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        _runner.StopAll();
        _stopUpkeep.Cancel();
        await _upkeep.WaitAsync(LastWait, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _stopPulling.Dispose();
        _stopUpkeep.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool started: {Capacity} slots, watching {Shards} queue shards")]
    private static partial void LogStarted(ILogger logger, int capacity, int shards);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo stopping: waiting up to {Grace} for {Running} running jobs")]
    private static partial void LogDraining(ILogger logger, int running, TimeSpan grace);
}

/// <summary>Registers the worker pool and its parts.</summary>
internal static class WorkerPoolServiceCollectionExtensions
{
    public static IServiceCollection AddWorkerPool(this IServiceCollection services)
    {
        services.AddSingleton(sp => new Slots(sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.MaxConcurrentJobs));
        services.AddSingleton<ShardReporter>();
        services.AddSingleton<LeaseRenewer>();
        services.AddSingleton<ExclusiveGate>();
        services.AddSingleton<LocalKeys>();
        services.AddSingleton<AttemptRunner>();
        services.AddSingleton<ShardPuller>();
        services.AddSingleton(sp => new WorkerPool(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IOptions<SchedulerOptions>>(),
            sp.GetRequiredService<Slots>(), sp.GetRequiredService<ShardPuller>(), sp.GetRequiredService<AttemptRunner>(),
            sp.GetRequiredService<LeaseRenewer>(), sp.GetRequiredService<ShardReporter>(), sp.GetRequiredService<ILogger<WorkerPool>>()));
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerPool>());
        services.AddKeyedSingleton<Orleans.Providers.IControllable, SlotsControllable>(SlotsControllable.Name);
        return services;
    }
}
