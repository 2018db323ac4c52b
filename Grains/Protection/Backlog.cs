using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Storage;

namespace Scheduler.Protection;

/// <summary>
/// Admission against the bounded backlogs (<see cref="BackpressureOptions"/>), on the submit path of this silo. The
/// Queued jobs per queue and tenant are counted in the store at most every <see cref="BackpressureOptions.RefreshInterval"/>
/// off the submit path; a submit adds its jobs to what this silo accepted since, under a lock, and is refused whole
/// when a bound would be passed. So this silo alone never takes a backlog past its bound (but for submits in flight
/// while a count runs); with several silos, each may take up to what it accepts in one interval beyond the others'
/// last count. Jobs a workflow or schedule releases are not refused: their workflow or schedule was accepted.
/// </summary>
public sealed partial class Backlog(IJobStore store, IOptions<SchedulerOptions> options, TimeProvider time, ILogger<Backlog> logger)
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(1);

    private readonly BackpressureOptions _options = options.Value.Backpressure;
    private readonly object _lock = new();
    private Dictionary<string, long> _queues = new(StringComparer.Ordinal);
    private Dictionary<string, long> _tenants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _acceptedQueues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _acceptedTenants = new(StringComparer.Ordinal);
    private long _acceptedTotal;
    private long _lastTotal = -1;
    private double _drainPerSecond;
    private long _countedAt;
    private Task? _counting;

    /// <summary>Null when the jobs may be accepted (they are counted as accepted then); otherwise why not, with a retry-after.</summary>
    public async ValueTask<RequestError?> AdmitAsync(IReadOnlyList<JobRequest> requests)
    {
        if (!_options.Enabled || requests.Count == 0)
            return null;
        // A count older than the interval is waited for (one submit per interval and silo pays for it), so a decision
        // never rests on a count older than the interval plus one count's duration.
        var counting = EnsureFresh();
        if (!counting.IsCompleted)
            await counting;

        var byQueue = requests.CountBy(r => r.Queue, StringComparer.Ordinal).ToList();
        var byTenant = requests.CountBy(r => r.Tenant, StringComparer.Ordinal).ToList();
        lock (_lock)
        {
            foreach (var (queue, count) in byQueue)
            {
                if (_options.BoundOfQueue(queue) is { } bound && Over(_queues, _acceptedQueues, queue, count, bound) is { } now)
                    return Refusal($"queue '{queue}' has {now} queued jobs and a bound of {bound}", now + count - bound, requests.Count);
            }
            foreach (var (tenant, count) in byTenant)
            {
                if (_options.BoundOfTenant(tenant) is { } bound && Over(_tenants, _acceptedTenants, tenant, count, bound) is { } now)
                    return Refusal($"tenant '{tenant}' has {now} queued jobs and a bound of {bound}", now + count - bound, requests.Count);
            }
            foreach (var (queue, count) in byQueue)
                _acceptedQueues[queue] = _acceptedQueues.GetValueOrDefault(queue) + count;
            foreach (var (tenant, count) in byTenant)
                _acceptedTenants[tenant] = _acceptedTenants.GetValueOrDefault(tenant) + count;
            _acceptedTotal += requests.Count;
        }
        return null;
    }

    private static long? Over(Dictionary<string, long> counted, Dictionary<string, long> accepted, string name, int adding, int bound)
    {
        var now = counted.GetValueOrDefault(name) + accepted.GetValueOrDefault(name);
        return now + adding > bound ? now : null;
    }

    private RequestError Refusal(string what, long excess, int jobs)
    {
        // How long the backlog takes to drain the excess at the rate it drained between the last two counts.
        var after = _drainPerSecond > 0 ? TimeSpan.FromSeconds(excess / _drainPerSecond) : MaxRetryAfter / 12;
        after = after < _options.RefreshInterval ? _options.RefreshInterval : after > MaxRetryAfter ? MaxRetryAfter : after;
        after = TimeSpan.FromSeconds(Math.Ceiling(after.TotalSeconds));
        LogRefused(logger, what, jobs);
        return new RequestError(0, SchedulerErrorCode.Overloaded,
            $"overloaded: {what}; {jobs} job{(jobs == 1 ? "" : "s")} refused, nothing was accepted; try again in {after.TotalSeconds:0} s")
        {
            RetryAfter = after,
        };
    }

    /// <summary>Starts a count when the last is older than the interval (one at a time); returns the count in progress.</summary>
    private Task EnsureFresh()
    {
        lock (_lock)
        {
            if (_counting is { IsCompleted: false } running)
                return running;
            if (_lastTotal >= 0 && time.GetElapsedTime(_countedAt) < _options.RefreshInterval)
                return Task.CompletedTask;
            return _counting = CountAsync();
        }
    }

    private async Task CountAsync()
    {
        await Task.Yield();
        long acceptedBefore;
        Dictionary<string, long> queuesBefore, tenantsBefore;
        var started = time.GetTimestamp();
        lock (_lock)
        {
            acceptedBefore = _acceptedTotal;
            queuesBefore = new(_acceptedQueues, StringComparer.Ordinal);
            tenantsBefore = new(_acceptedTenants, StringComparer.Ordinal);
        }
        IReadOnlyList<QueuedCount> counts;
        try
        {
            counts = await store.CountQueuedAsync();
        }
        catch (Exception e)
        {
            // The last counts stay; the next submit tries again.
            LogCountFailed(logger, e);
            if (_lastTotal < 0)
                throw;
            return;
        }
        var queues = new Dictionary<string, long>(StringComparer.Ordinal);
        var tenants = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        foreach (var count in counts)
        {
            queues[count.Queue] = queues.GetValueOrDefault(count.Queue) + count.Count;
            tenants[count.Tenant] = tenants.GetValueOrDefault(count.Tenant) + count.Count;
            total += count.Count;
        }
        lock (_lock)
        {
            // What was accepted before the count began is in it; what came after is still to be added.
            foreach (var (queue, n) in queuesBefore)
                _acceptedQueues[queue] -= n;
            foreach (var (tenant, n) in tenantsBefore)
                _acceptedTenants[tenant] -= n;
            if (_lastTotal >= 0)
            {
                var seconds = time.GetElapsedTime(_countedAt, started).TotalSeconds;
                var drained = _lastTotal + acceptedBefore - total;
                _drainPerSecond = seconds > 0 && drained > 0 ? drained / seconds : 0;
            }
            _acceptedTotal -= acceptedBefore;
            _queues = queues;
            _tenants = tenants;
            _lastTotal = total;
            _countedAt = started;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submit of {Jobs} jobs refused: {What}")]
    private static partial void LogRefused(ILogger logger, string what, int jobs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counting the queued jobs for backpressure failed; the last counts stay in use")]
    private static partial void LogCountFailed(ILogger logger, Exception exception);
}
