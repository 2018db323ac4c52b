using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Workers;

/// <summary>
/// Renews the lease of every attempt running on this silo once per <see cref="SchedulerOptions.LeaseCheckInterval"/>.
/// Renewals do not wait for each other: one hanging call must not hold up the others.
/// </summary>
internal sealed class LeaseRenewer(IOptions<SchedulerOptions> options, TimeProvider time, ILogger<AttemptLease> logger)
{
    private readonly SchedulerOptions _options = options.Value;
    private readonly ConcurrentDictionary<AttemptLease, byte> _leases = new();
    private bool _stopped;

    /// <summary>
    /// How long after sending its last confirmed renewal an attempt is stopped here: three quarters of the lease
    /// period, so it stops at least a quarter period before the grain can give the job away (docs/design.md).
    /// </summary>
    public TimeSpan SelfFenceAfter => _options.LeasePeriod - _options.LeaseCheckInterval;

    /// <summary>Starts renewing the lease of an attempt the job grain has just started; dispose it when the attempt ends.</summary>
    /// <param name="askedAt">When (<see cref="TimeProvider.GetTimestamp"/>) the start was asked for.</param>
    public AttemptLease Track(IJobGrain job, JobId id, int attempt, long askedAt)
    {
        var lease = new AttemptLease(job, id, attempt, askedAt, SelfFenceAfter, time, logger);
        _leases.TryAdd(lease, 0);
        // Added before the flag is read, and StopAll sets it before it looks: every attempt is stopped by one or the other.
        if (Volatile.Read(ref _stopped))
            lease.Stop(AttemptStop.Shutdown);
        // A slow start (a loaded machine, a slow storage write) used up part of the lease: renew now, not at the next tick.
        if (time.GetElapsedTime(askedAt) > _options.LeaseCheckInterval)
            lease.Renew();
        return lease;
    }

    /// <summary>Stops every running attempt, and any started from now on (shutdown, after the grace period): each reports a retriable outcome.</summary>
    public void StopAll()
    {
        Interlocked.Exchange(ref _stopped, true);
        foreach (var (lease, _) in _leases)
            lease.Stop(AttemptStop.Shutdown);
    }

    /// <summary>The attempt has ended: no more renewals.</summary>
    public void Untrack(AttemptLease lease)
    {
        _leases.TryRemove(lease, out _);
        lease.Dispose();
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(_options.LeaseCheckInterval, time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stop.IsCancellationRequested)
                return;
            foreach (var (lease, _) in _leases)
            {
                if (!lease.JustReturned(_options.LeaseCheckInterval))
                    lease.Renew();
            }
        }
    }
}
