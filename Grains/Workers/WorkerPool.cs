using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Workers;

/// <summary>
/// This silo's capacity and its pull loop. It watches every queue shard's head (long polls, no timer polling),
/// and whenever it has free slots it pulls from the shard holding the most urgent job, taking no job of lower
/// priority than another shard's head, then hands the jobs to the local stateless worker grain.
/// </summary>
public sealed partial class WorkerPool : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly SiloAddress _silo;
    private readonly SchedulerOptions _options;
    /// <summary>How often the pool tells each shard which of its jobs it holds (see <see cref="IQueueShardGrain.Holding"/>).</summary>
    public static readonly TimeSpan HoldingReportInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<Dispatch> _acks = new();
    // Jobs given to this silo by a pull and not yet acknowledged or returned (the call answered or failed), by job.
    private readonly ConcurrentDictionary<JobId, string> _held = new();
    private long _pulls;          // numbers this silo's pulls; only the dispatch loop counts
    private long _settledPulls;   // every pull up to this number has its answer (or failed), and its jobs are in _held
    private readonly ConcurrentDictionary<JobId, RunningAttempt> _runningAttempts = new();
    private readonly ILogger<WorkerPool> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopPulling = new();
    private readonly CancellationTokenSource _stopRunning = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly object _headsLock = new();
    private Shard[] _shards = [];
    private int _free;
    private int _running;
    private Task _loops = Task.CompletedTask;   // pulling: stops first on shutdown
    private Task _upkeep = Task.CompletedTask;  // acks and lease renewals: run until the last job has ended
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkerPool(IGrainFactory grains, ILocalSiloDetails silo, IOptions<SchedulerOptions> options, ILogger<WorkerPool> logger,
        TimeProvider time)
    {
        _time = time;
        _grains = grains;
        _silo = silo.SiloAddress;
        _options = options.Value;
        _logger = logger;
        _free = _options.MaxConcurrentJobs;
    }

    /// <summary>True once the pool pulls work, until shutdown begins.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Fires when running jobs must stop (shutdown after the grace period).</summary>
    public CancellationToken Stopping => _stopRunning.Token;

    /// <summary>Jobs running on this silo now.</summary>
    public int Running => Volatile.Read(ref _running);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkerPool), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _shards = [.. _options.Queues.SelectMany(queue => Enumerable.Range(0, _options.ShardsPerQueue)
            .Select(i => new Shard(_grains.Reference<IQueueShardGrain>(SchedulerOptions.ShardKey(queue, i)))))];
        var watchers = _shards.Select(WatchAsync);
        _loops = Task.WhenAll([.. watchers, DispatchLoopAsync()]);
        _upkeep = Task.WhenAll(AckLoopAsync(), HeartbeatLoopAsync(), HoldingLoopAsync());
        IsRunning = true;
        LogStarted(_logger, _options.MaxConcurrentJobs, _shards.Length);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        IsRunning = false;
        _stopPulling.Cancel();
        Wake();
        try
        {
            await _loops.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        if (Running > 0)
        {
            LogDraining(_logger, Running, _options.ShutdownGracePeriod);
            try
            {
                await _drained.Task.WaitAsync(_options.ShutdownGracePeriod, cancellationToken);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                _stopRunning.Cancel();
                await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        _stopRunning.Cancel();
        await _upkeep.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>What the pool believes now: free slots, running jobs, and each shard's head as last seen.</summary>
    public string Describe()
    {
        lock (_headsLock)
            return $"free {Volatile.Read(ref _free)}, running {Running}, heads: " +
                string.Join(" ", _shards.Select(s => $"{s.Grain.GetPrimaryKeyString()}=v{s.Head.Version}/n{s.Head.Count}/p{s.Head.TopPriority}"));
    }

    /// <summary>Called by the runner when a job it was given has ended (in any way).</summary>
    public void Release(Dispatch dispatch, bool acknowledge = true)
    {
        if (acknowledge)
            _acks.Enqueue(dispatch);
        Interlocked.Increment(ref _free);
        if (Interlocked.Decrement(ref _running) == 0 && _stopPulling.IsCancellationRequested)
            _drained.TrySetResult();
        Wake();
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
                _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    private async Task WatchAsync(Shard shard)
    {
        var failures = 0;
        while (!_stopPulling.IsCancellationRequested)
        {
            try
            {
                ShardHead known;
                lock (_headsLock)
                    known = shard.Head;
                var head = await shard.Grain.WatchHead(known, _options.WatchTimeout).WaitAsync(_stopPulling.Token);
                lock (_headsLock)
                    shard.Observe(head);
                failures = 0;
                Wake();
            }
            catch (OperationCanceledException) when (_stopPulling.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The shard's silo may have died: the next call activates it elsewhere, where it reloads from the store.
                failures++;
                LogWatchFailed(_logger, e, shard.Grain.GetPrimaryKeyString(), failures);
                lock (_headsLock)
                {
                    shard.Forget();
                    shard.Heard = true; // pulling from the other shards must not wait for this one any longer
                }
                Wake();
                await Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * (1 << Math.Min(failures, 6)))));
            }
        }
    }

    private async Task DispatchLoopAsync()
    {
        var worker = _grains.Reference<IJobWorkerGrain>(0);
        while (!_stopPulling.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_stopPulling.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var idle = 0;
            while (Volatile.Read(ref _free) > 0 && !_stopPulling.IsCancellationRequested && idle < _shards.Length)
            {
                Shard? best;
                int floor;
                lock (_headsLock)
                    (best, floor) = PickShard();
                if (best is null)
                    break;

                var want = Math.Min(Volatile.Read(ref _free), _options.PullBatchSize);
                Interlocked.Add(ref _free, -want);
                var pull = ++_pulls;
                var key = best.Grain.GetPrimaryKeyString();
                PullResult pulled;
                try
                {
                    pulled = await best.Grain.Pull(want, floor, _silo, pull);
                }
                catch (Exception e)
                {
                    // The shard may have handed out jobs whose answer never came: the next holding report, which
                    // counts this pull as settled without them, has the shard queue them again.
                    Volatile.Write(ref _settledPulls, pull);
                    Interlocked.Add(ref _free, want);
                    LogPullFailed(_logger, e, key);
                    lock (_headsLock)
                        best.Forget();
                    continue;
                }
                foreach (var entry in pulled.Entries)
                    _held[entry.Id] = key;
                Volatile.Write(ref _settledPulls, pull);
                lock (_headsLock)
                    best.Observe(pulled.Head);
                var got = pulled.Entries.Length;
                Interlocked.Add(ref _free, want - got);
                idle = got == 0 ? idle + 1 : 0;
                if (got == 0)
                    continue;
                Interlocked.Add(ref _running, got);
                var batch = ImmutableArray.CreateBuilder<Dispatch>(got);
                foreach (var entry in pulled.Entries)
                    batch.Add(new Dispatch(entry.Id, key));
                _ = worker.Execute(batch.MoveToImmutable());
            }
        }
    }

    /// <summary>
    /// The shard whose head is most urgent (priority, then age), and the priority floor for pulling from it:
    /// the best priority any other shard holds, so no job is taken ahead of a more urgent one elsewhere.
    /// </summary>
    private (Shard? Best, int Floor) PickShard()
    {
        Shard? best = null;
        foreach (var shard in _shards)
        {
            // Until every shard has answered once (at start), a pick could take a job of low priority from one
            // shard while another, not heard from yet, holds more urgent ones.
            if (!shard.Heard)
                return (null, 0);
        }
        foreach (var shard in _shards)
        {
            if (shard.Head.IsEmpty)
                continue;
            if (best is null || shard.Head.TopPriority > best.Head.TopPriority
                || (shard.Head.TopPriority == best.Head.TopPriority && shard.Head.TopEnqueuedAtTicks < best.Head.TopEnqueuedAtTicks))
                best = shard;
        }
        if (best is null)
            return (null, 0);
        var floor = JobPriority.Min;
        foreach (var shard in _shards)
        {
            if (shard != best && !shard.Head.IsEmpty)
                floor = Math.Max(floor, shard.Head.TopPriority);
        }
        return (best, floor);
    }

    /// <summary>
    /// Registers a running attempt for lease renewal. <see cref="AttemptSignals.LeaseLost"/> fires when the lease is
    /// lost (the job grain refused a renewal, so the job may run elsewhere now, or three renewals in a row failed), or
    /// when no renewal was confirmed in time (see <see cref="SelfFenceAfter"/>);
    /// <see cref="AttemptSignals.Cancelled"/> fires when the job was cancelled while it ran.
    /// </summary>
    /// <param name="askedAt">When (<see cref="TimeProvider.GetTimestamp"/>) the runner asked the grain to start the
    /// attempt: the grain's lease cannot end earlier than a lease period after it.</param>
    public AttemptSignals TrackLease(IJobGrain job, JobId id, int attempt, long askedAt)
    {
        var running = new RunningAttempt(job, attempt, _time);
        running.ExtendUntil(askedAt, SelfFenceAfter, _time);
        running.LeaseLost.Token.Register(static state =>
        {
            var (pool, id, running) = ((WorkerPool, JobId, RunningAttempt))state!;
            if (!running.Refused && pool.IsTracked(id, running))
                LogLeaseExpiredHere(pool._logger, id, running.Attempt, pool.SelfFenceAfter);
        }, (this, id, running));
        _runningAttempts[id] = running;
        // A slow start (a loaded machine, a slow storage write) used up part of the lease: renew now rather than at the
        // next tick, so that the attempt is not stopped for want of a renewal that was never sent.
        if (_time.GetElapsedTime(askedAt) > _options.LeaseCheckInterval && running.TryBeginRenewal())
            _ = RenewAsync(id, running);
        return new AttemptSignals(running.LeaseLost.Token, running.Cancelled.Token);
    }

    /// <summary>
    /// How long after sending its last renewal that the grain confirmed an executor stops the attempt on its own:
    /// three quarters of the lease period. The grain extends the lease from when a renewal arrives, which is no earlier
    /// than when it was sent, so the executor stops the attempt (a command's process group is killed) at least a
    /// quarter period before the grain can give the job to another silo, even when renewals hang instead of failing.
    /// </summary>
    public TimeSpan SelfFenceAfter => _options.LeasePeriod - _options.LeaseCheckInterval;

    /// <summary>
    /// The attempt's handler has returned and its outcome is being reported: the lease is still renewed (a report may
    /// take retries), but a refusal from now on is the grain having taken the outcome, not a reason to stop anything.
    /// </summary>
    public void Reporting(JobId id)
    {
        if (_runningAttempts.TryGetValue(id, out var running))
            running.Reporting = true;
    }

    public void UntrackLease(JobId id)
    {
        if (_runningAttempts.TryRemove(id, out var running))
        {
            running.LeaseLost.Dispose();
            running.Cancelled.Dispose();
        }
    }

    /// <summary>Gives a job that could not be started back to its shard, which queues it again.</summary>
    public void Return(Dispatch dispatch) =>
        _ = LetGoAsync(dispatch.Shard, [dispatch.Id], static (shard, ids) => shard.Return(ids));

    /// <summary>
    /// Acknowledges or returns jobs to their shard; they stay in <see cref="_held"/> until the shard has answered (or
    /// the call failed), so a holding report sent meanwhile does not have the shard queue them again.
    /// </summary>
    private async Task LetGoAsync(string shard, ImmutableArray<JobId> ids, Func<IQueueShardGrain, ImmutableArray<JobId>, Task> call)
    {
        try
        {
            await call(_grains.Reference<IQueueShardGrain>(shard), ids);
        }
        catch (Exception e)
        {
            // Lost: the shard still counts the jobs as this silo's, and the next holding report, without them, settles it.
            LogLetGoFailed(_logger, e, shard, ids.Length);
        }
        finally
        {
            foreach (var id in ids)
                _held.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Tells every shard, every <see cref="HoldingReportInterval"/>, which of its jobs this silo holds. Messages get
    /// lost when a silo dies: a pull's answer (the shard handed out jobs that never arrived), an acknowledgement or a
    /// return. The shard queues again what it handed to this silo and this silo does not hold.
    /// </summary>
    private async Task HoldingLoopAsync()
    {
        while (!_stopRunning.IsCancellationRequested)
        {
            await Task.Delay(HoldingReportInterval, _time, _stopRunning.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_stopRunning.IsCancellationRequested)
                return;
            // The number first: the jobs of every pull it covers are in _held by then.
            var settled = Volatile.Read(ref _settledPulls);
            var held = _held.ToArray().ToLookup(h => h.Value, h => h.Key, StringComparer.Ordinal); // a snapshot
            foreach (var shard in _shards)
                _ = ReportHoldingAsync(shard.Grain, settled, [.. held[shard.Grain.GetPrimaryKeyString()]]);
        }
    }

    private async Task ReportHoldingAsync(IQueueShardGrain shard, long settled, ImmutableArray<JobId> ids)
    {
        try
        {
            await shard.Holding(_silo, settled, ids);
        }
        catch (Exception e)
        {
            LogHoldingReportFailed(_logger, e, shard.GetPrimaryKeyString());
        }
    }

    /// <summary>Tells the shards, in batches, which of the jobs they handed out have ended here.</summary>
    private async Task AckLoopAsync()
    {
        while (!_stopRunning.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), _stopRunning.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            FlushAcks();
        }
    }

    private void FlushAcks()
    {
        if (_acks.IsEmpty)
            return;
        var byShard = new Dictionary<string, ImmutableArray<JobId>.Builder>();
        while (_acks.TryDequeue(out var ack))
        {
            if (!byShard.TryGetValue(ack.Shard, out var ids))
                byShard[ack.Shard] = ids = ImmutableArray.CreateBuilder<JobId>();
            ids.Add(ack.Id);
        }
        foreach (var (shard, ids) in byShard)
            _ = LetGoAsync(shard, ids.ToImmutable(), static (grain, acked) => grain.Ack(acked));
    }

    /// <summary>
    /// Renews the lease of every attempt running on this silo, once per lease check interval. At most one renewal per
    /// attempt is in flight, and the loop does not wait for them: one hanging call must not hold up the others.
    /// </summary>
    private async Task HeartbeatLoopAsync()
    {
        while (!_stopRunning.IsCancellationRequested)
        {
            await Task.Delay(_options.LeaseCheckInterval, _time, _stopRunning.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_stopRunning.IsCancellationRequested)
                return;
            foreach (var (id, running) in _runningAttempts)
            {
                if (running.TryBeginRenewal())
                    _ = RenewAsync(id, running);
            }
        }
    }

    private async Task RenewAsync(JobId id, RunningAttempt running)
    {
        try
        {
            await RenewOnceAsync(id, running);
        }
        finally
        {
            running.EndRenewal();
        }
    }

    private async Task RenewOnceAsync(JobId id, RunningAttempt running)
    {
        var sent = _time.GetTimestamp();
        try
        {
            switch (await running.Job.Heartbeat(running.Attempt))
            {
                case LeaseStatus.Renewed:
                    running.Failures = 0;
                    running.ExtendUntil(sent, SelfFenceAfter, _time);
                    return;
                case LeaseStatus.CancelRequested:
                    running.Failures = 0;
                    Signal(running.Cancelled);
                    return;
                default:
                    // A renewal that crossed the attempt's own outcome report is refused too (it waited behind the
                    // report on the grain): the handler is done, nothing to stop.
                    if (!IsTracked(id, running) || running.Reporting)
                        return;
                    LogLeaseRefused(_logger, id, running.Attempt);
                    running.Refused = true;
                    break;
            }
        }
        catch (Exception e)
        {
            if (++running.Failures < 3)
                return;
            LogLeaseRenewalFailed(_logger, e, id, running.Attempt, running.Failures);
            running.Refused = true;
        }
        Signal(running.LeaseLost);
    }

    private bool IsTracked(JobId id, RunningAttempt running) =>
        _runningAttempts.TryGetValue(id, out var current) && ReferenceEquals(current, running);

    private static void Signal(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

    public readonly record struct AttemptSignals(CancellationToken LeaseLost, CancellationToken Cancelled);

    private sealed class RunningAttempt(IJobGrain job, int attempt, TimeProvider time)
    {
        private int _renewing;

        public IJobGrain Job { get; } = job;
        public int Attempt { get; } = attempt;

        /// <summary>Cancelled on a refused renewal, on repeated failures, or by its own timer (see <see cref="ExtendUntil"/>).</summary>
        public CancellationTokenSource LeaseLost { get; } = new(Timeout.InfiniteTimeSpan, time);
        public CancellationTokenSource Cancelled { get; } = new();
        public int Failures { get; set; }

        /// <summary>True when the lease was refused or renewals kept failing (already logged), not merely late.</summary>
        public bool Refused { get; set; }

        /// <summary>Set once the handler has returned (see <see cref="WorkerPool.Reporting"/>).</summary>
        public volatile bool Reporting;

        public bool TryBeginRenewal() => Interlocked.CompareExchange(ref _renewing, 1, 0) == 0;

        public void EndRenewal() => Volatile.Write(ref _renewing, 0);

        /// <summary>Moves the executor's own deadline to <paramref name="after"/> past <paramref name="sent"/>.</summary>
        public void ExtendUntil(long sent, TimeSpan after, TimeProvider time)
        {
            var left = after - time.GetElapsedTime(sent);
            try
            {
                LeaseLost.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (ObjectDisposedException)
            {
                // The attempt ended meanwhile.
            }
        }
    }

    /// <summary>Waits, or less when pulling stops.</summary>
    private async Task Delay(TimeSpan delay) =>
        await Task.Delay(delay, _stopPulling.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    public void Dispose()
    {
        _stopPulling.Dispose();
        _stopRunning.Dispose();
        _wake.Dispose();
    }

    private sealed class Shard(IQueueShardGrain grain)
    {
        public IQueueShardGrain Grain { get; } = grain;

        /// <summary>The newest head seen; the default (epoch 0) means "unknown", which every real head replaces.</summary>
        public ShardHead Head { get; private set; }

        /// <summary>
        /// Keeps the newest view. Pull and watch answers for one shard can arrive out of order: an older
        /// "empty" answer must not overwrite a newer "non-empty" one, or the pool would wait for a change the
        /// shard has already reported (see <see cref="ShardHead.Supersedes"/>).
        /// </summary>
        public void Observe(ShardHead head)
        {
            Heard = true;
            if (head.Supersedes(Head))
                Head = head;
        }

        /// <summary>True once the shard has answered (or its watch has failed) since the pool started.</summary>
        public bool Heard { get; set; }

        /// <summary>After a failure the shard may come back as a new activation: ask it afresh.</summary>
        public void Forget() => Head = default;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the lease of attempt {Attempt} was refused; stopping it (the job may run elsewhere)")]
    private static partial void LogLeaseRefused(ILogger logger, JobId jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: renewing the lease of attempt {Attempt} failed {Failures} times in a row; stopping it")]
    private static partial void LogLeaseRenewalFailed(ILogger logger, Exception exception, JobId jobId, int attempt, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: no lease renewal of attempt {Attempt} was confirmed within {After}; stopping it before the lease can run out")]
    private static partial void LogLeaseExpiredHere(ILogger logger, JobId jobId, int attempt, TimeSpan after);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool started: {Capacity} slots, watching {Shards} queue shards")]
    private static partial void LogStarted(ILogger logger, int capacity, int shards);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo stopping: waiting up to {Grace} for {Running} running jobs")]
    private static partial void LogDraining(ILogger logger, int running, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching queue shard {Shard} failed ({Failures} in a row); retrying")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string shard, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling queue shard {Shard} that {Count} jobs have ended or could not start failed; the next holding report settles it")]
    private static partial void LogLetGoFailed(ILogger logger, Exception exception, string shard, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling queue shard {Shard} which of its jobs this silo holds failed")]
    private static partial void LogHoldingReportFailed(ILogger logger, Exception exception, string shard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pulling from queue shard {Shard} failed")]
    private static partial void LogPullFailed(ILogger logger, Exception exception, string shard);
}
