using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Workers;

/// <summary>
/// Fills this silo's free slots. It watches every queue shard's head (long polls, no timer polling), and whenever
/// slots are free it pulls from the shard holding the most urgent job (with fair share: of the tenant whose turn it is
/// on this silo, whether it heads its shard or waits behind another tenant's head), taking no job of lower priority
/// than another shard's head (with fair share and several tenants waiting: one round of that shard's turns, so the
/// batch follows the tenants' turns across shards too), and hands what it got to the runner.
/// </summary>
internal sealed partial class ShardPuller(
    ILocalSiloDetails silo,
    IOptions<SchedulerOptions> options,
    Slots slots,
    ShardReporter reporter,
    AttemptRunner runner,
    ExclusiveGate gate,
    ILogger<ShardPuller> logger)
{
    private readonly SchedulerOptions _options = options.Value;
    private IReadOnlyList<ShardRef> _shards = [];
    private string[] _queues = [];
    private Func<int, bool> _mayPull = static _ => true;
    private ShardHeads _heads = new(0);
    private long _pulls; // numbers this silo's pulls for the shards' held-jobs check; only the pull loop counts

    /// <summary>Watches and pulls until <paramref name="stop"/> fires.</summary>
    public Task RunAsync(IReadOnlyList<ShardRef> shards, CancellationToken stop)
    {
        _heads = new ShardHeads(shards.Count, _options.Ordering is { FairShare: true } ordering ? ordering.For("").WeightOf : null);
        _shards = shards;
        _queues = [.. shards.Select(s => ExclusiveGate.QueueOf(s.Key))];
        _mayPull = i => gate.MayPull(_queues[i]);
        return Task.WhenAll([.. Enumerable.Range(0, shards.Count).Select(i => WatchAsync(i, stop)), PullLoopAsync(stop), gate.RunAsync(stop)]);
    }

    /// <summary>Free slots, running jobs, and each shard's head as last seen.</summary>
    public string Describe() =>
        $"free {slots.Free}, running {slots.Running}, heads: " + string.Join(" ", _shards.Select((shard, i) =>
        {
            var head = _heads[i];
            return $"{shard.Key}=v{head.Version}/n{head.Count}/p{head.TopPriority}";
        }));

    private async Task WatchAsync(int index, CancellationToken stop)
    {
        var shard = _shards[index];
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var head = await shard.Grain.WatchHead(_heads[index], _options.WatchTimeout).WaitAsync(stop);
                _heads.Observe(index, head);
                failures = 0;
                slots.Wake();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The shard's silo may have died: the next call activates it elsewhere, where it reloads from the store.
                failures++;
                LogWatchFailed(logger, e, shard.Key, failures);
                _heads.Forget(index, watchFailed: true);
                slots.Wake();
                var backoff = TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * (1 << Math.Min(failures, 6))));
                await Task.Delay(backoff, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task PullLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var idle = 0;
            while (slots.Free > 0 && !stop.IsCancellationRequested && idle < _shards.Count)
            {
                // Shards of a queue under an exclusive barrier are left alone (see ExclusiveGate).
                var (index, floor, tenant, batch) = _heads.PickPull(_mayPull);
                if (index < 0)
                    break;
                var shard = _shards[index];
                var taken = slots.Take(Math.Min(_options.PullBatchSize, batch));
                var pull = ++_pulls;
                PullResult pulled;
                try
                {
                    pulled = await shard.Grain.Pull(taken, floor, silo.SiloAddress, pull, tenant);
                }
                catch (Exception e)
                {
                    reporter.Received(pull, shard.Key, []);
                    slots.Fill(taken, 0);
                    LogPullFailed(logger, e, shard.Key);
                    _heads.Forget(index, watchFailed: false);
                    continue;
                }
                reporter.Received(pull, shard.Key, pulled.Entries);
                _heads.Served(pulled.Entries);
                _heads.Observe(index, pulled.Head);
                var got = pulled.Entries.Length;
                slots.Fill(taken, got);
                if (got == 0)
                {
                    idle++;
                    continue;
                }
                idle = 0;
                runner.Start(pulled.Entries, shard.Key, _queues[index]);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching queue shard {Shard} failed ({Failures} in a row); retrying")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string shard, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pulling from queue shard {Shard} failed")]
    private static partial void LogPullFailed(ILogger logger, Exception exception, string shard);
}
