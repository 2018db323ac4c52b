using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Jobs;

/// <summary>
/// The silo's one watch over the leases of the running jobs whose grains are active on it: every
/// <see cref="SchedulerOptions.LeaseCheckInterval"/> it asks each grain whose lease has passed its end to check it
/// (<see cref="IJobGrain.CheckLease"/>), which abandons the attempt unless a renewal came meanwhile. One timer for the
/// silo in place of a grain timer per running job, whose creation and disposal (a timer queue's lock, the grain's
/// timer registry) were a few percent of a burst's processor time. The grain's own lease end stays the truth; the
/// ends here only say when to ask.
/// </summary>
public sealed partial class LeaseWatch(IGrainFactory grains, IOptions<SchedulerOptions> options, TimeProvider time, ILogger<LeaseWatch> logger)
    : IDisposable
{
    private readonly TimeSpan _interval = options.Value.LeaseCheckInterval;
    // The tickets of the leases watched, each in the queue at most once. Every start watches and every end forgets, so
    // neither takes a lock: a start queues its activation's ticket, an end only marks it, and the check drops it.
    private readonly ConcurrentQueue<Ticket> _tickets = new();
    private ITimer? _timer;
    private int _disposed;

    /// <summary>One job grain activation's lease as the watch sees it. Made by the activation at its first watch, kept for its life.</summary>
    public sealed class Ticket(JobId job)
    {
        internal readonly JobId Job = job;
        // The lease's end in UTC ticks; Forgotten while the job is not running here.
        internal long Until = Forgotten;
        // 1 while the ticket is in the watch's queue.
        internal int Queued;
    }

    private const long Forgotten = long.MaxValue;

    /// <summary>Watches the lease of the ticket's job, running here until <paramref name="until"/> (or moves its end).</summary>
    public void Watch(Ticket ticket, DateTimeOffset until)
    {
        Volatile.Write(ref ticket.Until, until.UtcTicks);
        if (Interlocked.Exchange(ref ticket.Queued, 1) == 0)
            _tickets.Enqueue(ticket);
        if (_timer is null)
            StartTimer();
    }

    /// <summary>The job is no longer running here (it ended, or its activation is going); the next check drops its ticket.</summary>
    public static void Forget(Ticket ticket) => Volatile.Write(ref ticket.Until, Forgotten);

    /// <summary>
    /// The jobs running here now, as their active grains see them (what a listing of Running jobs reads by key).
    /// A snapshot of the queue, taken without a lock; a ticket the check holds out of the queue at that instant is missed.
    /// </summary>
    public JobId[] Running()
    {
        var running = new List<JobId>();
        foreach (var ticket in _tickets)
            if (Volatile.Read(ref ticket.Until) != Forgotten)
                running.Add(ticket.Job);
        return [.. running];
    }

    private void StartTimer()
    {
        var timer = time.CreateTimer(static s => ((LeaseWatch)s!).Check(), this, _interval, _interval);
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null || Volatile.Read(ref _disposed) != 0)
            timer.Dispose();
    }

    private void Check()
    {
        var now = time.GetUtcNow().UtcTicks;
        // The tickets queued now, each once: those still watched go back behind them.
        for (var left = _tickets.Count; left > 0 && _tickets.TryDequeue(out var ticket); left--)
        {
            // Cleared (a full fence) before the end is read: a watch from now on queues the ticket itself, and the
            // exchange below then leaves it there once.
            Interlocked.Exchange(ref ticket.Queued, 0);
            var until = Volatile.Read(ref ticket.Until);
            if (until == Forgotten)
                continue;
            // Asked again a check interval later if the grain neither ends it nor moves it meanwhile.
            if (until <= now && Interlocked.CompareExchange(ref ticket.Until, now + _interval.Ticks, until) == until)
                _ = AskAsync(ticket.Job);
            if (Interlocked.Exchange(ref ticket.Queued, 1) == 0)
                _tickets.Enqueue(ticket);
        }
    }

    private async Task AskAsync(JobId job)
    {
        try
        {
            await grains.GetGrain<IJobGrain>(job.Value).CheckLease();
        }
        catch (Exception e)
        {
            LogCheckFailed(logger, e, job);
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _timer?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: asking its grain to check its expired lease failed; asking again at the next check")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, JobId jobId);
}
