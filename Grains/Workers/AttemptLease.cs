using Microsoft.Extensions.Logging;

namespace Scheduler.Workers;

/// <summary>Why a running attempt was stopped on this silo (<see cref="AttemptLease.Reason"/>).</summary>
internal enum AttemptStop
{
    None = 0,
    /// <summary>The self-fence: the grain refused a renewal, renewals kept failing, or none was confirmed in time.</summary>
    Lost = 1,
    /// <summary>The job was cancelled while it ran.</summary>
    Cancelled = 2,
    /// <summary>The silo is shutting down and its grace period is over.</summary>
    Shutdown = 3,
}

/// <summary>
/// This silo's side of one running attempt's lease: renews it on the job grain and stops the attempt
/// (<see cref="Stopped"/>, with <see cref="Reason"/> <see cref="AttemptStop.Lost"/>) when the grain refuses, when renewals
/// keep failing, or when none was confirmed for <see cref="LeaseRenewer.SelfFenceAfter"/> (docs/design.md, "Liveness").
/// The same token stops it when the job was cancelled while it ran and when the silo shuts down: one token per attempt,
/// which its handler gets as is (a linked token over several sources cost every job a few registrations and allocations).
/// </summary>
internal sealed partial class AttemptLease : IDisposable
{
    // Fires at the self-fence deadline (CancelAfter, moved by every confirmed renewal) or when Stop is called.
    private readonly CancellationTokenSource _stop;
    private readonly TimeSpan _selfFenceAfter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _askedAt;
    private int _renewing;
    private int _armed;
    private int _failedRenewals;
    private int _reason;
    private volatile bool _handlerReturned;
    private long _handlerReturnedAt;
    private volatile bool _ended;

    /// <param name="askedAt">When (<see cref="TimeProvider.GetTimestamp"/>) the runner asked the grain to start the
    /// attempt: the grain's lease cannot end earlier than a lease period after it.</param>
    public AttemptLease(IJobGrain job, JobId id, int attempt, long askedAt, TimeSpan selfFenceAfter, TimeProvider time, ILogger logger)
    {
        Job = job;
        Id = id;
        Attempt = attempt;
        _selfFenceAfter = selfFenceAfter;
        _time = time;
        _logger = logger;
        // The system clock's source needs no timer until CancelAfter arms one; given a TimeProvider, a source creates
        // one at once (a timer-queue entry, added and removed under the queue's lock, for every attempt).
        _stop = time == TimeProvider.System ? new CancellationTokenSource() : new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        // The self-fence's deadline is armed at the first renewal (the renewer's first tick, or at once after a slow
        // start), not here: most attempts end before it, and each armed deadline is a timer in the runtime's contended
        // timer queue. The deadline still counts from the start: at most a quarter period has passed when it is armed.
        _askedAt = askedAt;
    }

    /// <summary>Arms the self-fence's deadline, counted from the start; once, at the first renewal.</summary>
    private void Arm()
    {
        try
        {
            // Registered with the deadline, not at the start: only a deadline fires with no reason given.
            _stop.Token.UnsafeRegister(static state =>
            {
                // No reason given: the deadline passed. Recorded as a loss, so that a later Stop does not rename it.
                var lease = (AttemptLease)state!;
                if (Interlocked.CompareExchange(ref lease._reason, (int)AttemptStop.Lost, 0) == 0 && !lease._ended)
                    LogNotConfirmed(lease._logger, lease.Id, lease.Attempt, lease._selfFenceAfter);
            }, this);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
            return;
        }
        ExtendFrom(_askedAt);
    }

    public IJobGrain Job { get; }
    public JobId Id { get; }
    public int Attempt { get; }

    /// <summary>Fires when the attempt must stop; <see cref="Reason"/> says why.</summary>
    public CancellationToken Stopped => _stop.Token;

    /// <summary>Why <see cref="Stopped"/> fired (the first reason given); <see cref="AttemptStop.None"/> while it has not.</summary>
    /// <remarks>Stopped with no reason recorded yet is the deadline: the token's callbacks run last-registered first, so a
    /// caller's own callback may run before the one that records it.</remarks>
    public AttemptStop Reason => Volatile.Read(ref _reason) is var reason and not 0 ? (AttemptStop)reason
        : _stop.IsCancellationRequested ? AttemptStop.Lost : AttemptStop.None;

    /// <summary>Stops the attempt for <paramref name="reason"/>, unless it was stopped already (its first reason stays).</summary>
    public void Stop(AttemptStop reason)
    {
        // Past the deadline already: the loss is the reason.
        if (Interlocked.CompareExchange(ref _reason, _stop.IsCancellationRequested ? (int)AttemptStop.Lost : (int)reason, 0) != 0)
            return;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

    /// <summary>
    /// The handler has returned and its outcome is being reported: renewals go on (a report may take retries), but a
    /// refusal from now on is the grain having taken the outcome, not a reason to stop anything.
    /// </summary>
    public void HandlerReturned()
    {
        Volatile.Write(ref _handlerReturnedAt, _time.GetTimestamp());
        _handlerReturned = true;
    }

    /// <summary>
    /// The handler returned less than <paramref name="within"/> ago: its outcome report is most likely still on its
    /// way, and a renewal sent now would reach the grain after it, finished and perhaps deactivated (a new activation
    /// that reads the job's row only to refuse). The lease was confirmed before the handler returned, so skipping one
    /// tick leaves the grain's lease most of its period.
    /// </summary>
    public bool JustReturned(TimeSpan within) => _handlerReturned && _time.GetElapsedTime(Volatile.Read(ref _handlerReturnedAt)) < within;

    /// <summary>Sends one renewal unless one is in flight already; does not wait for it.</summary>
    public void Renew()
    {
        if (Interlocked.Exchange(ref _armed, 1) == 0)
            Arm();
        if (Interlocked.CompareExchange(ref _renewing, 1, 0) == 0)
            _ = RenewAsync();
    }

    private async Task RenewAsync()
    {
        try
        {
            await RenewOnceAsync();
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    private async Task RenewOnceAsync()
    {
        var sent = _time.GetTimestamp();
        try
        {
            switch (await Job.Heartbeat(Attempt))
            {
                case LeaseStatus.Renewed:
                    _failedRenewals = 0;
                    ExtendFrom(sent);
                    return;
                case LeaseStatus.CancelRequested:
                    _failedRenewals = 0;
                    Stop(AttemptStop.Cancelled);
                    return;
                default:
                    // A renewal that waited behind the attempt's own outcome report is refused too: nothing to stop.
                    if (_ended || _handlerReturned)
                        return;
                    LogRefused(_logger, Id, Attempt);
                    break;
            }
        }
        catch (Exception e)
        {
            if (++_failedRenewals < 3)
                return;
            LogRenewalsFailed(_logger, e, Id, Attempt, _failedRenewals);
        }
        Stop(AttemptStop.Lost);
    }

    /// <summary>Moves the self-fence deadline to <see cref="_selfFenceAfter"/> past <paramref name="sent"/>.</summary>
    private void ExtendFrom(long sent)
    {
        var left = _selfFenceAfter - _time.GetElapsedTime(sent);
        try
        {
            _stop.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

    public void Dispose()
    {
        _ended = true;
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the lease of attempt {Attempt} was refused; stopping it (the job may run elsewhere)")]
    private static partial void LogRefused(ILogger logger, JobId jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: renewing the lease of attempt {Attempt} failed {Failures} times in a row; stopping it")]
    private static partial void LogRenewalsFailed(ILogger logger, Exception exception, JobId jobId, int attempt, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: no lease renewal of attempt {Attempt} was confirmed within {After}; stopping it before the lease can run out")]
    private static partial void LogNotConfirmed(ILogger logger, JobId jobId, int attempt, TimeSpan after);
}
