using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// Makes a queue shard refuse the enqueue of chosen jobs, as a shard whose silo is dying would: a grain call filter
/// in the test silo.
/// </summary>
public sealed class EnqueueFaults
{
    private readonly ConcurrentDictionary<JobId, int> _refusals = new();

    /// <summary>The next <paramref name="times"/> enqueues that carry <paramref name="id"/> fail.</summary>
    public void Refuse(JobId id, int times) => _refusals[id] = times;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IQueueShardGrain.Enqueue)
            && context.Request.GetArgument(0) is ImmutableArray<QueueEntry> entries
            && entries.Any(entry => TakeRefusal(entry.Id)))
            throw new TimeoutException("injected: the queue shard did not answer");
        return context.Invoke();
    }

    private bool TakeRefusal(JobId id)
    {
        while (_refusals.TryGetValue(id, out var left) && left > 0)
        {
            if (_refusals.TryUpdate(id, left - 1, left))
                return true;
        }
        return false;
    }
}
