using Microsoft.Extensions.Logging;

namespace Scheduler.Jobs;

/// <summary>Priority changes while a job waits (docs/queues.md).</summary>
public sealed partial class JobGrain
{
    public async Task<PriorityChangeOutcome> ChangePriority(int priority)
    {
        if (!JobPriority.IsValid(priority))
            throw new ArgumentOutOfRangeException(nameof(priority), priority, JobPriority.RangeProblem(priority));
        if (!Exists)
        {
            DeactivateOnIdle();
            return PriorityChangeOutcome.NotFound;
        }
        if (Job.State == JobState.Running)
            return PriorityChangeOutcome.Running;
        if (Job.State != JobState.Queued)
            return PriorityChangeOutcome.AlreadyFinal;
        if (Job.Priority == priority)
            return PriorityChangeOutcome.Changed;

        var was = Job.Priority;
        Job.Priority = priority;
        Job.UpdatedAt = time.GetUtcNow();
        // Stored first (the row's priority column too), so a shard that reloads meanwhile already sees the new one.
        await WriteAsync();
        LogPriorityChanged(logger, Id, was, priority);
        // A job due later, or parked at a concurrency key, is not in its shard: it is enqueued with the new priority.
        if (Job.NotBefore is null)
            await GrainFactory.Reference<IQueueShardGrain>(Job.ShardKey).ChangePriority(Id, priority);
        return PriorityChangeOutcome.Changed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: priority changed from {From} to {To} while it waits")]
    private static partial void LogPriorityChanged(ILogger logger, JobId jobId, int from, int to);
}
