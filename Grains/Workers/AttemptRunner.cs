using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scheduler.Execution;
using Scheduler.Storage;

namespace Scheduler.Workers;

/// <summary>
/// Runs the jobs this silo pulled, one attempt each: starts the attempt on its job grain, keeps its lease, runs the
/// handler on the thread pool, reports the outcome to the grain, then frees the slot and tells the shard.
/// </summary>
internal sealed partial class AttemptRunner(
    IGrainFactory grains,
    LeaseRenewer leases,
    Slots slots,
    ShardReporter reporter,
    JobHandlerRegistry handlers,
    IServiceScopeFactory scopes,
    IJobLogStore store,
    ILocalSiloDetails silo,
    ExclusiveGate gate,
    LocalKeys keys,
    TimeProvider time,
    Telemetry.SchedulerMetrics metrics,
    ILogger<AttemptRunner> logger) : IDisposable
{

    // Pulled jobs not yet sent their start, in pull order, and whether a work item is sending them.
    private readonly System.Collections.Concurrent.ConcurrentQueue<LocalKeys.Parked> _pulled = new();
    private int _sending;
    private StartSender? _sender;

    /// <summary>
    /// Starts a pull's jobs, off the caller's thread, after every job pulled before them; each holds one of the slots
    /// taken for the pull. <paramref name="queue"/> is the shard's queue (the puller knows it per shard, so no job
    /// parses it from the shard key).
    /// </summary>
    /// <remarks>
    /// One work item at a time sends the starts (each job grain's <c>TryStart</c>), one job per item, in pull order, on
    /// this thread's own queue, which it runs as soon as the puller awaits its next pull (under load the global queue
    /// holds every activation's turns, and a pull's starts waited behind all of them). A thread runs its own queue
    /// newest first: the item for the next job is queued before this job's start, whose grain turn (queued by the send)
    /// then runs first. A work item per pull sending all of its jobs had their turns run newest first, after later
    /// pulls' (a tenant's turn came up to 40 ms and hundreds of starts late).
    /// </remarks>
    public void Start(ImmutableArray<QueueEntry> entries, string shard, string queue)
    {
        foreach (var entry in entries)
            _pulled.Enqueue(new LocalKeys.Parked(new PulledJob(entry.Id, shard), queue, entry));
        if (Interlocked.Exchange(ref _sending, 1) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(_sender ??= new StartSender(this), preferLocal: true);
    }

    private void SendNext()
    {
        if (_pulled.TryDequeue(out var job))
        {
            ThreadPool.UnsafeQueueUserWorkItem(_sender!, preferLocal: true);
            try
            {
                Admit(job);
            }
            catch (Exception e)
            {
                // The others go on; this one goes back to its shard.
                LogRunFailed(logger, e, job.Job.Id);
                reporter.GiveBack(job.Job);
                slots.Release();
            }
            return;
        }
        Volatile.Write(ref _sending, 0);
        // A pull's jobs queued after the last look but before the flag was cleared would wait for the next pull.
        if (!_pulled.IsEmpty && Interlocked.Exchange(ref _sending, 1) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(_sender!, preferLocal: true);
    }

    private sealed class StartSender(AttemptRunner runner) : IThreadPoolWorkItem
    {
        public void Execute() => runner.SendNext();
    }

    private void Admit(LocalKeys.Parked job)
    {
        // A job whose key this silo's own jobs fill is set aside, without its slot, until one of them ends.
        if (keys.Admit(job, time.GetTimestamp()))
        {
            _ = RunAsync(job);
            return;
        }
        slots.Release();
        if (_sweep is null)
        {
            var sweep = time.CreateTimer(static s => ((AttemptRunner)s!).SendBackParked(), this, SweepPeriod, SweepPeriod);
            if (Interlocked.CompareExchange(ref _sweep, sweep, null) is not null)
                sweep.Dispose();
        }
    }

    /// <summary>
    /// How long a job may stay set aside on this silo; then it goes back to its queue and, pulled again, to its key,
    /// whose waiters and the job's status show it (a held key's holder may run for hours).
    /// </summary>
    internal static readonly TimeSpan ParkLimit = TimeSpan.FromSeconds(5);

    // A job goes back at most this long after its time set aside is up.
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(1);

    private ITimer? _sweep;

    private void SendBackParked()
    {
        var now = time.GetTimestamp();
        var limit = (long)(ParkLimit.TotalSeconds * time.TimestampFrequency);
        foreach (var job in keys.Expire(now - limit, now - 60 * limit))
            reporter.GiveBack(job.Job);
    }

    /// <summary>The silo stops pulling: jobs set aside go back to their queues, and no job takes an ended one's slot any more.</summary>
    public void StopHandOffs()
    {
        foreach (var job in keys.Close())
            reporter.GiveBack(job.Job);
    }

    /// <summary>Stops every running handler (shutdown after the grace period): each reports a retriable outcome.</summary>
    public void StopAll() => leases.StopAll();

    /// <summary>
    /// Runs one admitted job. <paramref name="after"/>: the attempt here whose handler returned and whose key slots this
    /// job takes; this job's claims give those slots back at its keys (one key call per job of a busy key, not two),
    /// and any that no claim gave back are released here once the start is decided.
    /// </summary>
    private async Task RunAsync(LocalKeys.Parked admitted, HandOff? after = null)
    {
        var (pulled, queue) = (admitted.Job, admitted.Queue);
        var givenBack = false;
        var (handedOn, slotPassed) = (false, false);
        gate.Enter(queue);
        try
        {
            if (!gate.MayStart(queue, pulled.Id))
            {
                after?.Finish(this, []);
                // An exclusive job has its scope: this one waits with the scope until it ends, in no queue meanwhile.
                givenBack = !await ParkAsync(queue, pulled);
                return;
            }
            var job = grains.Reference<IJobGrain>(pulled.Id.Value);
            JobExecution? execution;
            var asked = time.GetTimestamp();
            try
            {
                execution = await job.TryStart(silo.SiloAddress, after?.From);
                after?.Finish(this, execution?.AfterReleased ?? []);
            }
            catch (Exception e)
            {
                after?.Finish(this, []);
                // Most likely storage is unreachable. Hand the job back to its shard after a pause (holding the
                // slot meanwhile slows pulling down while the outage lasts) instead of forgetting it.
                LogStartFailed(logger, e, pulled.Id);
                await Task.Delay(StartRetryDelay, time);
                givenBack = true;
                reporter.GiveBack(pulled);
                return;
            }
            if (execution is null)
                return;
            foreach (var parked in keys.Granted(execution.HeldKeys))
                reporter.GiveBack(parked.Job);
            var lease = leases.Track(job, execution.Id, execution.Attempt, asked);
            // The attempt's span (a child of the job's submit span) and log scope cover the handler and the report.
            var span = Telemetry.JobTracing.StartAttempt(execution);
            using var scope = Telemetry.JobTracing.BeginAttemptScope(logger, execution);
            JobResult? result = null;
            try
            {
                var started = time.GetTimestamp();
                result = await ExecuteAsync(execution, lease);
                metrics.RunTime(execution.Queue, execution.Handler, result.Outcome, time.GetElapsedTime(started));
                lease.HandlerReturned();
                // The run is over: a job set aside for one of its keys starts now, its claims giving back this attempt's
                // slots at the keys, rather than after the outcome is stored (a storage round trip per job of a key).
                HandOff? handOff = null;
                if (keys.HandOff(admitted.Keys, out var next, out var giveBack))
                {
                    handedOn = true;
                    foreach (var back in giveBack)
                        reporter.GiveBack(back.Job);
                    if (next is { } successor)
                    {
                        slotPassed = true;
                        handOff = new HandOff(new KeyPredecessor(execution.Id, execution.Attempt), [.. admitted.Keys.Intersect(successor.Keys, StringComparer.Ordinal)]);
                        _ = RunAsync(successor, handOff);
                    }
                }
                // The outcome must reach the grain, or the job runs again once the lease runs out (docs/design.md). The
                // first report is sent from here; only a failed one goes on to the retries (a method of its own, so
                // that a report that gets through, nearly all of them, costs no second state machine).
                var keysHandedOn = handOff?.Keys ?? [];
                var deadline = time.GetUtcNow() + ReportPatience;
                try
                {
                    await job.Complete(execution.Attempt, result, keysHandedOn);
                }
                catch (Exception e) when (time.GetUtcNow() < deadline && e is not InvalidOperationException)
                {
                    await ReportAgainAsync(job, execution, result, keysHandedOn, deadline, e);
                }
            }
            finally
            {
                leases.Untrack(lease);
                Telemetry.JobTracing.EndAttempt(span, result);
            }
        }
        catch (Exception e)
        {
            // The attempt stays Running on its grain, whose lease runs out and queues it again.
            LogRunFailed(logger, e, pulled.Id);
        }
        finally
        {
            after?.Finish(this, []);
            if (!givenBack)
                reporter.Ended(pulled);
            gate.Exit(queue);
            if (!handedOn)
            {
                // A job set aside for one of this job's keys takes its slot; one nothing here would free goes back to its queue.
                var (next, giveBack) = keys.Ended(admitted.Keys);
                foreach (var job in giveBack)
                    reporter.GiveBack(job.Job);
                if (next is { } successor)
                {
                    slotPassed = true;
                    _ = RunAsync(successor);
                }
            }
            if (!slotPassed)
                slots.Release();
        }
    }

    /// <summary>
    /// An attempt whose handler returned, handing the slots of <see cref="Keys"/> (the keys it shares with the job set
    /// aside here that takes its place) to that job. Its outcome report names them, so its job grain does not give them
    /// back: that job's claims do, and <see cref="Finish"/> gives back any they did not.
    /// </summary>
    private sealed class HandOff(KeyPredecessor from, ImmutableArray<string> keys)
    {
        private int _finished;

        public KeyPredecessor From => from;

        public ImmutableArray<string> Keys => keys;

        /// <summary>The start of the job taking over is decided; <paramref name="released"/>: the keys its claims gave back.</summary>
        public void Finish(AttemptRunner runner, ImmutableArray<string> released)
        {
            if (Interlocked.Exchange(ref _finished, 1) != 0)
                return;
            foreach (var key in keys)
            {
                if (!released.Contains(key))
                    _ = runner.ReleaseHandedAsync(key, from);
            }
        }
    }

    /// <summary>
    /// Gives back a slot handed on that the next job did not take (refused, cancelled, or it failed to start). Fenced by
    /// the attempt, so a release that crossed one by a claim is ignored by the key. Tried a few times, as the job grain
    /// would; should all fail, the key finds the slot's job finished when it checks its holders.
    /// </summary>
    private async Task ReleaseHandedAsync(string key, KeyPredecessor from)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await grains.Reference<IFlowKeyGrain>(key).Release(from.Job, from.Attempt, started: true);
                return;
            }
            catch (Exception e) when (attempt < 3)
            {
                LogReleaseRetry(logger, e, from.Job, key, attempt);
                await Task.Delay(StartRetryDelay * 2, time);
            }
            catch (Exception e)
            {
                LogReleaseRetry(logger, e, from.Job, key, attempt);
                return;
            }
        }
    }

    /// <summary>Parks a job held back by a barrier with its scope; false (and the job goes back to its shard) if that fails.</summary>
    private async Task<bool> ParkAsync(string queue, PulledJob pulled)
    {
        try
        {
            await gate.ParkAsync(queue, pulled.Id);
            return true;
        }
        catch (Exception e)
        {
            LogStartFailed(logger, e, pulled.Id);
            await Task.Delay(StartRetryDelay, time);
            reporter.GiveBack(pulled);
            return false;
        }
    }

    private async Task<JobResult> ExecuteAsync(JobExecution execution, AttemptLease lease)
    {
        await using var log = new ExecutionLog(store, execution.Id, execution.Attempt, time, logger);
        await using var scope = scopes.CreateAsyncScope();
        var handler = handlers.Create(scope.ServiceProvider, execution.Handler);
        if (handler is null)
            return JobResult.Fatal($"handler '{execution.Handler}' is not registered on silo {silo.Name}");

        // The lease's token stops the attempt when it is lost or cancelled, or the silo stops; a time limit adds its own.
        using var timeout = execution.Timeout is { } limit ? new CancellationTokenSource(limit, time) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, lease.Stopped);
        var stop = linked?.Token ?? lease.Stopped;
        var context = new JobContext
        {
            Id = execution.Id,
            Attempt = execution.Attempt,
            MaxAttempts = execution.MaxAttempts,
            Handler = execution.Handler,
            Queue = execution.Queue,
            Tenant = execution.Tenant,
            Payload = execution.Payload.AsMemory(),
            Log = log,
        };
        JobResult result;
        try
        {
            // On its own work item: a handler that blocks before its first await must not hold up other jobs' starts.
            // The runner runs on the thread pool, never in a grain's turn, so the yield queues the rest of this method
            // there as it is (a Task.Run cost a closure, a delegate and two tasks per attempt).
            await Task.Yield();
            var run = handler.ExecuteAsync(context, stop);
            // Once the handler has begun (it ran to its first await): rate-limited keys count the start from
            // when they hear this, so no window of handler starts holds more than the rate (docs/flow-control.md).
            ReportStarted(execution);
            result = (run is null ? null : await run) ?? JobResult.Retry($"handler '{execution.Handler}' returned no result");
        }
        catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true)
        {
            result = JobResult.Retry($"timed out after {execution.Timeout}");
        }
        catch (OperationCanceledException) when (lease.Stopped.IsCancellationRequested)
        {
            // No reason yet: the self-fence's deadline fired and its callback has not run yet.
            result = lease.Reason switch
            {
                AttemptStop.Cancelled => JobResult.Fatal($"attempt {execution.Attempt} was cancelled while it ran"),
                AttemptStop.Shutdown => JobResult.Retry($"silo {silo.Name} shut down while the job ran"),
                _ => JobResult.Retry($"attempt {execution.Attempt} lost its lease on silo {silo.Name} and was stopped"),
            };
        }
        catch (Exception e)
        {
            // Retriable unless the handler's options make its exceptions fatal.
            var error = $"{e.GetType().Name}: {e.Message}";
            result = handlers.OptionsOf(execution.Handler).ExceptionsAreFatal
                ? JobResult.Fatal($"unhandled {error}")
                : JobResult.Retry(error);
        }
        if (result.Outcome != JobOutcome.Success)
            log.Write(LogStream.System, $"attempt {execution.Attempt}: {result.Outcome}: {result.Reason}");
        return result;
    }

    private void ReportStarted(JobExecution execution)
    {
        if (execution.RateKeys.IsDefaultOrEmpty)
            return;
        // One-way: a report that is lost is stamped when the attempt gives the key back.
        foreach (var key in execution.RateKeys)
            _ = grains.Reference<IFlowKeyGrain>(key).Started(execution.Id, execution.Attempt);
    }

    /// <summary>
    /// Reports an outcome whose first report failed. Keeps trying for a while (storage may be restarting); the lease stays
    /// renewed meanwhile. If it never gets through, the lease runs out after this runner stops renewing it and the job
    /// runs again: at least once.
    /// </summary>
    private async Task ReportAgainAsync(IJobGrain job, JobExecution execution, JobResult result, ImmutableArray<string> keysHandedOn,
        DateTimeOffset deadline, Exception failed)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            LogReportRetry(logger, failed, execution.Id, attempt);
            await Task.Delay(delay, time);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            try
            {
                await job.Complete(execution.Attempt, result, keysHandedOn);
                return;
            }
            catch (Exception e) when (time.GetUtcNow() < deadline && e is not InvalidOperationException)
            {
                failed = e;
            }
        }
    }

    public void Dispose()
    {
        _sweep?.Dispose();
    }

    private static readonly TimeSpan StartRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReportPatience = TimeSpan.FromMinutes(1);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Starting job {JobId} failed; it goes back to its queue")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: giving back key {Key}, which the next job did not take, failed (try {Try})")]
    private static partial void LogReleaseRetry(ILogger logger, Exception exception, JobId jobId, string key, int @try);

    [LoggerMessage(Level = LogLevel.Error, Message = "Running job {JobId} failed outside its handler")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting the outcome of job {JobId} failed (try {Try}); retrying")]
    private static partial void LogReportRetry(ILogger logger, Exception exception, JobId jobId, int @try);
}
