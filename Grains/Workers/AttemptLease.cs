using Microsoft.Extensions.Logging;

namespace Scheduler.Workers;

/// <summary>
/// This silo's side of one running attempt's lease: renews it on the job grain and stops the attempt
/// (<see cref="Lost"/>) when the grain refuses, when renewals keep failing, or when none was confirmed for
/// <see cref="LeaseRenewer.SelfFenceAfter"/> (docs/design.md, "Liveness"). <see cref="Cancelled"/> fires when the
/// job was cancelled while it ran.
/// </summary>
internal sealed partial class AttemptLease : IDisposable
{
    private readonly CancellationTokenSource _lost;
    private readonly CancellationTokenSource _cancelled = new();
    private readonly TimeSpan _selfFenceAfter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _renewing;
    private int _failedRenewals;
    private volatile bool _lossLogged;
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
        _lost = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        ExtendFrom(askedAt);
        _lost.Token.UnsafeRegister(static state =>
        {
            var lease = (AttemptLease)state!;
            if (!lease._lossLogged && !lease._ended)
                LogNotConfirmed(lease._logger, lease.Id, lease.Attempt, lease._selfFenceAfter);
        }, this);
    }

    public IJobGrain Job { get; }
    public JobId Id { get; }
    public int Attempt { get; }

    public CancellationToken Lost => _lost.Token;
    public CancellationToken Cancelled => _cancelled.Token;

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
                    Signal(_cancelled);
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
        _lossLogged = true;
        Signal(_lost);
    }

    /// <summary>Moves the self-fence deadline to <see cref="_selfFenceAfter"/> past <paramref name="sent"/>.</summary>
    private void ExtendFrom(long sent)
    {
        var left = _selfFenceAfter - _time.GetElapsedTime(sent);
        try
        {
            _lost.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended meanwhile.
        }
    }

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

    public void Dispose()
    {
        _ended = true;
        _lost.Dispose();
        _cancelled.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the lease of attempt {Attempt} was refused; stopping it (the job may run elsewhere)")]
    private static partial void LogRefused(ILogger logger, JobId jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: renewing the lease of attempt {Attempt} failed {Failures} times in a row; stopping it")]
    private static partial void LogRenewalsFailed(ILogger logger, Exception exception, JobId jobId, int attempt, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: no lease renewal of attempt {Attempt} was confirmed within {After}; stopping it before the lease can run out")]
    private static partial void LogNotConfirmed(ILogger logger, JobId jobId, int attempt, TimeSpan after);
}
