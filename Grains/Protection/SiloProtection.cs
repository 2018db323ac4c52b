using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Protection;

/// <summary>
/// This silo's side of gates and breakers. It keeps a copy of the paused gates and open breakers (watching the
/// <see cref="IHoldDirectoryGrain"/>, a long poll), so a job about to start asks a gate or breaker only when one that
/// covers it is paused or open: with none, a start costs a field read. It also sends attempts' outcomes to the
/// breakers of their handler and keys, in batches every <see cref="ReportInterval"/> (only for configured breakers).
/// </summary>
public sealed partial class SiloProtection(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IOptions<SchedulerOptions> options,
    ILogger<SiloProtection> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How often outcomes go to the breakers.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);

    private readonly SchedulerOptions _options = options.Value;
    private readonly ConcurrentQueue<(string Target, BreakerOutcome Outcome)> _outcomes = new();
    private readonly CancellationTokenSource _stop = new();
    private volatile HoldSet? _set;
    private Task _running = Task.CompletedTask;

    /// <summary>The holds as last seen; null until first loaded.</summary>
    public HoldSet? Current => _set;

    /// <summary>Loads the holds once, for a job offered before the watch has answered (just after start-up).</summary>
    public async Task<HoldSet> LoadAsync()
    {
        if (_set is { } set)
            return set;
        var loaded = await grains.GetGrain<IHoldDirectoryGrain>(0).Watch(silo.SiloAddress, -1, TimeSpan.Zero);
        Apply(loaded);
        return _set!;
    }

    private void Apply(HoldSet set)
    {
        // Never go back to an older set (a slow load answering after the watch).
        if (_set is not { } known || set.Version >= known.Version)
            _set = set;
    }

    /// <summary>Queues an ended attempt's outcome for the breakers of its handler and keys, if any are configured.</summary>
    public void RecordOutcome(string handler, ImmutableArray<ConcurrencyKey> keys, JobId job, bool failed, string? error, DateTimeOffset at)
    {
        var breakers = _options.Breakers;
        if (!breakers.Enabled)
            return;
        if (breakers.Handlers.ContainsKey(handler))
            _outcomes.Enqueue((BreakerTargets.OfHandler(handler), new BreakerOutcome(job, failed, at, error)));
        if (breakers.Keys.Count == 0 || keys.IsDefaultOrEmpty)
            return;
        foreach (var key in keys)
        {
            if (breakers.Keys.Exists(k => k.Key == key.Key))
                _outcomes.Enqueue((BreakerTargets.OfKey(key.Key), new BreakerOutcome(job, failed, at, error)));
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloProtection), ServiceLifecycleStage.Active, Start, StopAsync);

    private Task Start(CancellationToken cancellationToken)
    {
        _running = Task.WhenAll(WatchAsync(_stop.Token), _options.Breakers.Enabled ? ReportAsync(_stop.Token) : Task.CompletedTask);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        await _running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await FlushAsync();
    }

    private async Task WatchAsync(CancellationToken stop)
    {
        var directory = grains.GetGrain<IHoldDirectoryGrain>(0);
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var set = await directory.Watch(silo.SiloAddress, _set?.Version ?? -1, _options.WatchTimeout).WaitAsync(stop);
                failures = 0;
                if (set.Version != _set?.Version)
                    LogHolds(logger, set.Version, set.Gates.Length, set.Breakers.Length);
                Apply(set);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                LogWatchFailed(logger, e, failures);
                var backoff = TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * (1 << Math.Min(failures, 6))));
                await Task.Delay(backoff, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task ReportAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(ReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
                await FlushAsync();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task FlushAsync()
    {
        if (_outcomes.IsEmpty)
            return;
        var batches = new Dictionary<string, ImmutableArray<BreakerOutcome>.Builder>(StringComparer.Ordinal);
        while (_outcomes.TryDequeue(out var item))
        {
            if (!batches.TryGetValue(item.Target, out var batch))
                batches[item.Target] = batch = ImmutableArray.CreateBuilder<BreakerOutcome>();
            batch.Add(item.Outcome);
        }
        await Task.WhenAll(batches.Select(async kv =>
        {
            try
            {
                await grains.GetGrain<IBreakerGrain>(kv.Key).Report(kv.Value.ToImmutable());
            }
            catch (Exception e)
            {
                // Counting is best effort: outcomes lost with a silo or a failed call only delay a breaker's opening.
                LogReportFailed(logger, e, kv.Key, kv.Value.Count);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Holds version {Version}: {Gates} paused gates, {Breakers} open breakers")]
    private static partial void LogHolds(ILogger logger, long version, int gates, int breakers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching gates and breakers failed ({Failures} in a row); retrying")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting {Count} outcomes to breaker {Target} failed; they are not counted")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string target, int count);
}
