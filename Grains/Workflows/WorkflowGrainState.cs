namespace Scheduler.Workflows;

/// <summary>
/// The durable state of one workflow (grain storage state name "workflow"). Bounded by <see cref="WorkflowLimits"/>:
/// the definition of each job and a few fields per job; logs and history stay with the jobs. Never renumber the ids.
/// </summary>
[GenerateSerializer, Alias("scheduler.WorkflowGrainState")]
public sealed class WorkflowGrainState
{
    /// <summary>0 until the workflow is submitted.</summary>
    [Id(0)] public WorkflowState State { get; set; }
    [Id(1)] public string? Name { get; set; }
    [Id(2)] public string Tenant { get; set; } = "";
    [Id(3)] public int Priority { get; set; }
    [Id(4)] public long SizeHint { get; set; }
    [Id(5)] public WorkflowFailurePolicy FailurePolicy { get; set; }
    /// <summary>In the order they were submitted and added; a job's index never changes.</summary>
    [Id(6)] public List<WorkflowNode> Nodes { get; set; } = [];
    [Id(7)] public DateTimeOffset CreatedAt { get; set; }
    [Id(8)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(9)] public string? Reason { get; set; }
    /// <summary>
    /// Before schema version 5: true once the workflow had registered a reminder of its own. No longer written (the
    /// watchdog looks after workflows); kept so that state stored then still reads.
    /// </summary>
    [Id(10)] public bool ReminderRegistered { get; set; }
    /// <summary>A delayed workflow: no job of it starts before this (every job it releases is submitted with it).</summary>
    [Id(11)] public DateTimeOffset? NotBefore { get; set; }
    /// <summary>Called when the workflow ends (docs/webhooks.md).</summary>
    [Id(60)] public WebhookRequest? Webhook { get; set; }
}

/// <summary>One job of a workflow: its definition and where its current run is.</summary>
[GenerateSerializer, Alias("scheduler.WorkflowNode")]
public sealed class WorkflowNode
{
    [Id(0)] public WorkflowJob Job { get; set; } = null!;
    /// <summary>Queued means released (its job exists, or is being submitted); Running is never stored.</summary>
    [Id(1)] public WorkflowJobState State { get; set; }
    /// <summary>1, then one more per rerun; with the name it gives the job id (<see cref="WorkflowId.JobIdOf"/>).</summary>
    [Id(2)] public int Run { get; set; } = 1;
    [Id(3)] public int Attempt { get; set; }
    [Id(4)] public DateTimeOffset? StartedAt { get; set; }
    [Id(5)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(6)] public string? LastError { get; set; }
    /// <summary>True once the current run's job was released (its job exists, or is being submitted).</summary>
    [Id(7)] public bool HasJob { get; set; }
}
