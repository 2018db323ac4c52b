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
    // Job → its lease's end, in UTC ticks. Striped wider than the default: every start adds and every end removes.
    private readonly ConcurrentDictionary<JobId, long> _leases = new(concurrencyLevel: 64, capacity: 1024);
    private ITimer? _timer;
    private int _disposed;

    /// <summary>Watches the lease of <paramref name="job"/>, running here until <paramref name="until"/> (or moves its end).</summary>
    public void Watch(JobId job, DateTimeOffset until)
    {
        _leases[job] = until.UtcTicks;
        if (_timer is null)
            StartTimer();
    }

    /// <summary>The job is no longer running here (it ended, or its activation is going).</summary>
    public void Forget(JobId job) => _leases.TryRemove(job, out _);

    /// <summary>
    /// The jobs running here now, as their active grains see them (what a listing of Running jobs reads by key).
    /// Enumerated without the dictionary's locks, which every start and end takes.
    /// </summary>
    public JobId[] Running()
    {
        var running = new List<JobId>(_leases.Count);
        foreach (var (job, _) in _leases)
            running.Add(job);
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
        foreach (var (job, until) in _leases)
        {
            // Asked again a check interval later if the grain neither ends it nor moves it meanwhile.
            if (until <= now && _leases.TryUpdate(job, now + _interval.Ticks, until))
                _ = AskAsync(job);
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
