using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Workers;

/// <summary>
/// This silo's side of exclusive scopes. It watches each scope that covers its queues (the cluster, and each queue;
/// long polls like the shards' heads) and counts the jobs it runs per queue. While a scope's barrier is up it pulls
/// nothing from the scope's queues (except to fetch the exclusive job once the scope has drained) and starts no other
/// job there; it reports its count under each barrier it learns of, and again when the count changes. With no barrier
/// up, a job costs two interlocked counts and a flag read: no grain call.
/// </summary>
internal sealed partial class ExclusiveGate(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IOptions<SchedulerOptions> options,
    Slots slots,
    ILogger<ExclusiveGate> logger)
{
    private readonly SchedulerOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, StrongBox> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ScopeBarrier> _barriers = new(StringComparer.Ordinal);
    private volatile bool _anyBarrier;

    private sealed class StrongBox
    {
        public int Value;
    }

    /// <summary>Watches every scope covering this silo's queues until <paramref name="stop"/> fires.</summary>
    public Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(_options.Queues.Select(ExclusiveScopes.OfQueue).Prepend(ExclusiveScopes.Cluster).Select(scope => WatchAsync(scope, stop)));

    /// <summary>Whether to pull from <paramref name="queue"/>: not while a barrier covering it waits for the scope to drain or its holder runs.</summary>
    public bool MayPull(string queue) =>
        !_anyBarrier || (Open(ExclusiveScopes.Cluster, out var cluster) || cluster.Ready) && (Open(ExclusiveScopes.OfQueue(queue), out var own) || own.Ready);

    /// <summary>Whether <paramref name="job"/> of <paramref name="queue"/> may start: only the holder, while a barrier covers the queue.</summary>
    public bool MayStart(string queue, JobId job) =>
        !_anyBarrier || (Open(ExclusiveScopes.Cluster, out var cluster) || cluster.Holder == job) && (Open(ExclusiveScopes.OfQueue(queue), out var own) || own.Holder == job);

    private bool Open(string scope, out ScopeBarrier barrier) => !_barriers.TryGetValue(scope, out barrier) || barrier.Holder is null;

    /// <summary>A pulled job of <paramref name="queue"/> is on its way to start: counted until <see cref="Exit"/>.</summary>
    public void Enter(string queue)
    {
        Interlocked.Increment(ref Counter(queue).Value);
        if (_anyBarrier)
            ReportChange(queue);
    }

    public void Exit(string queue)
    {
        Interlocked.Decrement(ref Counter(queue).Value);
        if (_anyBarrier)
            ReportChange(queue);
    }

    /// <summary>Hands a job held back by a barrier to its scope, which queues it again when the barrier drops.</summary>
    public Task ParkAsync(string queue, JobId job)
    {
        var scope = Open(ExclusiveScopes.Cluster, out _) ? ExclusiveScopes.OfQueue(queue) : ExclusiveScopes.Cluster;
        return grains.GetGrain<IExclusiveScopeGrain>(scope).Park([job]);
    }

    /// <summary>The queue of a shard key "queue/index".</summary>
    public static string QueueOf(string shard) => shard[..shard.LastIndexOf('/')];

    private StrongBox Counter(string queue) => _running.GetOrAdd(queue, static _ => new StrongBox());

    private int Running(string scope)
    {
        if (scope == ExclusiveScopes.Cluster)
            return _running.Values.Sum(c => Volatile.Read(ref c.Value));
        return _running.TryGetValue(scope["queue:".Length..], out var counter) ? Volatile.Read(ref counter.Value) : 0;
    }

    private void ReportChange(string queue)
    {
        foreach (var scope in new[] { ExclusiveScopes.Cluster, ExclusiveScopes.OfQueue(queue) })
        {
            if (_barriers.TryGetValue(scope, out var barrier) && barrier.Holder is not null && !barrier.Ready)
                grains.GetGrain<IExclusiveScopeGrain>(scope).Report(silo.SiloAddress, barrier.Id, Running(scope)).Ignore();
        }
    }

    private async Task WatchAsync(string scope, CancellationToken stop)
    {
        var grain = grains.GetGrain<IExclusiveScopeGrain>(scope);
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var known = _barriers.GetValueOrDefault(scope);
                // The count is read after the barrier: a job counted later has seen the barrier before it could start.
                var barrier = await grain.Watch(silo.SiloAddress, known, Running(scope), _options.WatchTimeout).WaitAsync(stop);
                failures = 0;
                if (barrier == known)
                    continue;
                _barriers[scope] = barrier;
                _anyBarrier = _barriers.Values.Any(b => b.Holder is not null);
                LogBarrier(logger, scope, barrier.Holder, barrier.Ready);
                slots.Wake();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                LogWatchFailed(logger, e, scope, failures);
                var backoff = TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * (1 << Math.Min(failures, 6))));
                await Task.Delay(backoff, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scope {Scope}: barrier for {JobId} (ready {Ready})")]
    private static partial void LogBarrier(ILogger logger, string scope, JobId? jobId, bool ready);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching exclusive scope {Scope} failed ({Failures} in a row); retrying")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string scope, int failures);
}
