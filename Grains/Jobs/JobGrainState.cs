using System.Collections.Immutable;

namespace Scheduler.Jobs;

/// <summary>The durable state of one job (grain storage state name "job"). Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.JobGrainState")]
public sealed class JobGrainState
{
    [Id(0)] public JobState State { get; set; }
    [Id(1)] public string Handler { get; set; } = "";
    [Id(2)] public ImmutableArray<byte> Payload { get; set; } = [];
    [Id(3)] public int Priority { get; set; }
    [Id(4)] public string Queue { get; set; } = "";
    [Id(5)] public string Tenant { get; set; } = "";
    [Id(6)] public int MaxAttempts { get; set; }
    [Id(7)] public TimeSpan? Timeout { get; set; }
    [Id(8)] public string? IdempotencyKey { get; set; }
    [Id(9)] public int Shard { get; set; }
    [Id(10)] public int Attempt { get; set; }
    [Id(11)] public DateTimeOffset CreatedAt { get; set; }
    [Id(12)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(13)] public DateTimeOffset? StartedAt { get; set; }
    [Id(14)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(15)] public string? LastError { get; set; }
    [Id(16)] public string? Silo { get; set; }
    /// <summary>Address of the silo running the current attempt, to tell whether it is still alive.</summary>
    [Id(17)] public SiloAddress? SiloAddress { get; set; }
    /// <summary>
    /// While Queued with a due time (a delayed job, or a retry delay): not to start before this (a timer and a reminder
    /// enqueue it then).
    /// </summary>
    [Id(18)] public DateTimeOffset? NotBefore { get; set; }
    /// <summary>The resolved backoff (job over handler over defaults), fixed at submit.</summary>
    [Id(19)] public RetryPolicy? Retry { get; set; }
    /// <summary>Why the job is Failed; null in any other state.</summary>
    [Id(20)] public DeadLetterReason? DeadLetter { get; set; }
    /// <summary>The attempts the job was given at submit: the default budget of a requeue.</summary>
    [Id(21)] public int AttemptBudget { get; set; }
    /// <summary>The workflow this job belongs to, told when the job reaches a final state.</summary>
    [Id(22)] public WorkflowId? Workflow { get; set; }
    /// <summary>Its workflow's size hint (0 for other jobs): at equal priority, the queue serves smaller ones first.</summary>
    [Id(23)] public long SizeHint { get; set; }
    /// <summary>Then earlier ones first, by this time: its workflow's creation; null (other jobs) means <see cref="CreatedAt"/>.</summary>
    [Id(24)] public DateTimeOffset? QueuedAsOf { get; set; }
    /// <summary>Concurrency keys it holds while it runs, in key order (see docs/flow-control.md).</summary>
    [Id(40)] public ImmutableArray<ConcurrencyKey> Keys { get; set; } = [];
    /// <summary>The scope it needs to itself while it runs, if any.</summary>
    [Id(41)] public ExclusiveScope Exclusive { get; set; }
    /// <summary>The W3C trace context of its submit: every attempt's span is its child (docs/observability.md).</summary>
    [Id(50)] public string? TraceParent { get; set; }
    /// <summary>Called when the job ends (docs/webhooks.md).</summary>
    [Id(60)] public WebhookRequest? Webhook { get; set; }

    /// <summary>Whether starting it involves flow control (keys or an exclusive scope).</summary>
    public bool IsControlled => !Keys.IsDefaultOrEmpty || Exclusive != ExclusiveScope.None;

    /// <summary>The key of the queue shard the job waits in.</summary>
    public string ShardKey => SchedulerOptions.ShardKey(Queue, Shard);

    /// <summary>
    /// The job's place in its shard, the same on every enqueue (submit, retry, requeue, lost lease), so a job that
    /// goes back to its queue keeps its order among jobs of equal priority.
    /// </summary>
    public QueuedJob QueuedAs(JobId id) => new(ShardKey, EntryOf(id));

    /// <summary>The job's entry in its shard (see <see cref="QueuedAs"/>), without the shard's key.</summary>
    public QueueEntry EntryOf(JobId id) => new(id, Priority, (QueuedAsOf ?? CreatedAt).UtcTicks, SizeHint, Tenant,
        Keys.IsDefaultOrEmpty ? default : [.. Keys.Select(k => k.Key)]);
}
