namespace Scheduler.Client;

/// <summary>The queues as their shards hold them (docs/queues.md).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Every queue's waiting and running jobs by priority and by tenant, with each tenant's weight and share of starts,
    /// read from all the queue's shards at once (one call per shard: meant for a dashboard or an operator, not a loop).
    /// </summary>
    Task<QueueOverview> GetQueuesAsync(CancellationToken cancellationToken = default);
}
