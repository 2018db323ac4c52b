using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// The clients' entry point into a silo: validates and fans batches out to job grains and queue shards.
/// A stateless worker, so every silo serves it locally and it is never a single hot grain.
/// </summary>
[Alias("scheduler.ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>Records all jobs or none: a batch with any invalid request is refused whole.</summary>
    [Alias("SubmitMany")]
    Task<SubmitBatchResult> SubmitMany(ImmutableArray<JobRequest> requests);

    /// <summary>Jobs matching the filter, newest first, at most <see cref="JobFilter.Limit"/>.</summary>
    [Alias("List")]
    Task<ImmutableArray<JobSummary>> List(JobFilter filter);

    /// <summary>Every transition of a job, oldest first; empty when no such job exists.</summary>
    [Alias("GetHistory")]
    Task<ImmutableArray<JobTransition>> GetHistory(JobId id);

    /// <summary>
    /// Log lines of a job with a sequence number above <paramref name="afterSequence"/>, oldest first, at most
    /// <paramref name="max"/>.
    /// </summary>
    [Alias("GetLog")]
    Task<ImmutableArray<JobLogLine>> GetLog(JobId id, long afterSequence, int max);

    /// <summary>How many jobs are in each state.</summary>
    [Alias("GetStats")]
    Task<QueueStats> GetStats();

    /// <summary>The queues' depth by priority and tenant, gathered from every shard of every queue (for the dashboard).</summary>
    [Alias("GetQueues")]
    Task<QueueOverview> GetQueues();

    /// <summary>The handler names and queues this silo serves.</summary>
    [Alias("Describe")]
    Task<SiloDescription> Describe();

    /// <summary>Failed jobs, most recently failed first, with why and their last error.</summary>
    [Alias("ListDeadLetters")]
    Task<ImmutableArray<DeadLetter>> ListDeadLetters(DeadLetterFilter filter);

    /// <summary>Requeues dead-lettered jobs (see <see cref="IJobGrain.Requeue"/>); one result per id, in order.</summary>
    [Alias("Requeue")]
    Task<ImmutableArray<RequeueResult>> Requeue(ImmutableArray<JobId> ids, int? attempts);

    /// <summary>Purges dead-lettered jobs (see <see cref="IJobGrain.Purge"/>); one result per id, in order.</summary>
    [Alias("Purge")]
    Task<ImmutableArray<PurgeResult>> Purge(ImmutableArray<JobId> ids);

    /// <summary>Purges up to <see cref="DeadLetterFilter.Limit"/> dead-lettered jobs matching the filter; returns how many.</summary>
    [Alias("PurgeMatching")]
    Task<int> PurgeMatching(DeadLetterFilter filter);

    /// <summary>Workflows matching the filter, newest first (see <see cref="WorkflowPage"/>).</summary>
    [Alias("ListWorkflows")]
    Task<WorkflowPage> ListWorkflows(WorkflowFilter filter);

    /// <summary>Every active silo with its job slots and how many are busy, by silo address.</summary>
    [Alias("ListSilos")]
    Task<ImmutableArray<SiloSlots>> ListSilos();
}

/// <summary>What one silo serves.</summary>
/// <param name="Silo">The silo's address.</param>
/// <param name="Handlers">The handler names registered on it.</param>
/// <param name="Queues">The queues it serves.</param>
/// <param name="MaxPayloadBytes">The largest payload it accepts, in bytes.</param>
[GenerateSerializer, Immutable, Alias("scheduler.SiloDescription")]
public sealed record SiloDescription(
    [property: Id(0)] string Silo,
    [property: Id(1)] ImmutableArray<string> Handlers,
    [property: Id(2)] ImmutableArray<string> Queues,
    [property: Id(3)] int MaxPayloadBytes);
