using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Scheduler.Workers;

/// <summary>A job this silo pulled, and the key of the shard it came from.</summary>
internal readonly record struct PulledJob(JobId Id, string Shard);

/// <summary>A queue shard this silo pulls from.</summary>
internal readonly record struct ShardRef(string Key, IQueueShardGrain Grain);

/// <summary>
/// Tells the queue shards what became of the jobs they handed to this silo: acknowledgements (batched), returns,
/// and every <see cref="HeldReportInterval"/> the jobs this silo still holds, so that a shard queues again what a lost
/// message left with nobody (docs/design.md, "Liveness"). The shards' answers to these reports feed the queue depth metric.
/// </summary>
internal sealed partial class ShardReporter(IGrainFactory grains, ILocalSiloDetails silo, TimeProvider time, Telemetry.SchedulerMetrics metrics,
    ILogger<ShardReporter> logger)
{
    public static readonly TimeSpan HeldReportInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AckInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentQueue<PulledJob> _ended = new();
    // Jobs given to this silo by a pull and not yet acknowledged or returned (the call answered or failed).
    private readonly ConcurrentDictionary<JobId, string> _held = new();
    private long _settledPull; // every pull up to this number has its answer (or failed), and its jobs are in _held

    /// <summary>
    /// Pull number <paramref name="pull"/> (the puller numbers them one by one) has its answer: these jobs are held
    /// now. A failed pull passes none: the shard may have handed out jobs that never arrived, and the next report,
    /// which covers this pull without them, has the shard queue them again.
    /// </summary>
    public void Received(long pull, string shard, ImmutableArray<QueueEntry> entries)
    {
        foreach (var entry in entries)
            _held[entry.Id] = shard;
        Volatile.Write(ref _settledPull, pull);
    }

    /// <summary>The job has ended here (in any way); the shard hears of it with the next batch.</summary>
    public void Ended(PulledJob job) => _ended.Enqueue(job);

    /// <summary>The job could not be started: its shard queues it again.</summary>
    public void GiveBack(PulledJob job) =>
        _ = ReleaseHeldAsync(job.Shard, [job.Id], static (shard, ids) => shard.Return(ids));

    /// <summary>Sends acknowledgements and held-job reports until <paramref name="stop"/> fires.</summary>
    public Task RunAsync(IReadOnlyList<ShardRef> shards, CancellationToken stop) =>
        Task.WhenAll(AckLoopAsync(stop), ReportHeldLoopAsync(shards, stop));

    private async Task AckLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(AckInterval, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            FlushAcks();
        }
    }

    private void FlushAcks()
    {
        if (_ended.IsEmpty)
            return;
        var byShard = new Dictionary<string, ImmutableArray<JobId>.Builder>();
        while (_ended.TryDequeue(out var job))
        {
            if (!byShard.TryGetValue(job.Shard, out var ids))
                byShard[job.Shard] = ids = ImmutableArray.CreateBuilder<JobId>();
            ids.Add(job.Id);
        }
        foreach (var (shard, ids) in byShard)
            _ = ReleaseHeldAsync(shard, ids.ToImmutable(), static (grain, acked) => grain.Ack(acked));
    }

    /// <summary>
    /// Acknowledges or returns jobs to their shard. They stay held until the shard has answered (or the call failed),
    /// so a report sent meanwhile does not have the shard queue them again.
    /// </summary>
    private async Task ReleaseHeldAsync(string shard, ImmutableArray<JobId> ids, Func<IQueueShardGrain, ImmutableArray<JobId>, Task> call)
    {
        try
        {
            await call(grains.Reference<IQueueShardGrain>(shard), ids);
        }
        catch (Exception e)
        {
            // The shard still counts the jobs as this silo's; the next report, without them, settles it.
            LogReleaseFailed(logger, e, shard, ids.Length);
        }
        finally
        {
            foreach (var id in ids)
                _held.TryRemove(id, out _);
        }
    }

    private async Task ReportHeldLoopAsync(IReadOnlyList<ShardRef> shards, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(HeldReportInterval, time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stop.IsCancellationRequested)
                return;
            // The number first: the jobs of every pull it covers are in _held by then.
            var settled = Volatile.Read(ref _settledPull);
            var held = _held.ToArray().ToLookup(h => h.Value, h => h.Key, StringComparer.Ordinal); // a snapshot
            foreach (var shard in shards)
                _ = ReportHeldAsync(shard, settled, [.. held[shard.Key]]);
        }
    }

    private async Task ReportHeldAsync(ShardRef shard, long settled, ImmutableArray<JobId> ids)
    {
        try
        {
            var answer = await shard.Grain.RequeueUnheld(silo.SiloAddress, settled, ids);
            metrics.ReportDepth(shard.Key, answer.Waiting);
        }
        catch (Exception e)
        {
            LogReportFailed(logger, e, shard.Key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling queue shard {Shard} that {Count} jobs have ended or could not start failed; the next held-jobs report settles it")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string shard, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling queue shard {Shard} which of its jobs this silo holds failed")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string shard);
}
