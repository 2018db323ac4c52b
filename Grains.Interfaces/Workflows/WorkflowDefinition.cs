using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// What happens to a child when a parent ends in any other state than Succeeded (Failed, Cancelled, or Skipped).
/// Set per workflow (<see cref="WorkflowDefinition.FailurePolicy"/>) and overridable per dependency
/// (<see cref="WorkflowDependency.Policy"/>). Values are stored and sent on the wire: never renumber them.
/// </summary>
[GenerateSerializer, Alias("scheduler.WorkflowFailurePolicy")]
public enum WorkflowFailurePolicy
{
    /// <summary>The whole workflow fails: every job that has not started is cancelled; running jobs finish.</summary>
    FailWorkflow = 1,

    /// <summary>The child and its descendants are Skipped; the other branches go on. The workflow ends Failed.</summary>
    SkipDescendants = 2,

    /// <summary>The child runs anyway, once the parent is in any final state.</summary>
    RunAnyway = 3,
}

/// <summary>One dependency of a job: the parent job's name, and optionally its own failure policy.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowDependency")]
public sealed record WorkflowDependency(
    [property: Id(0)] string Job,
    [property: Id(1)] WorkflowFailurePolicy? Policy = null)
{
    /// <summary>A plain dependency on <paramref name="job"/>, following the workflow's failure policy.</summary>
    public static implicit operator WorkflowDependency(string job) => new(job);
}

/// <summary>One job of a workflow: a unique name, what it runs, and the jobs it waits for.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowJob")]
public sealed record WorkflowJob
{
    /// <summary>Unique in its workflow; <see cref="RequestValidation.NameRule"/>.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>Name of a handler registered on the silos, e.g. "command".</summary>
    [Id(1)] public required string Handler { get; init; }

    /// <summary>Opaque bytes handed to the handler (JSON for the built-in handlers).</summary>
    [Id(2)] public ImmutableArray<byte> Payload { get; init; } = [];

    /// <summary>The queue the job waits in.</summary>
    [Id(3)] public string Queue { get; init; } = JobRequest.DefaultQueue;

    /// <summary>Attempts and timeout; unset values come from the handler and the defaults.</summary>
    [Id(4)] public JobLimits Limits { get; init; } = JobLimits.Default;

    /// <summary>The jobs that must end first (its parents). Empty: the job is released as soon as the workflow starts.</summary>
    [Id(5)] public ImmutableArray<WorkflowDependency> DependsOn { get; init; } = [];

    /// <summary>Concurrency keys the job holds while it runs (see <see cref="JobRequest.Concurrency"/>).</summary>
    [Id(16)] public ImmutableArray<ConcurrencyKey> Concurrency { get; init; } = [];

    /// <summary>A scope the job needs to itself while it runs (see <see cref="JobRequest.Exclusive"/>).</summary>
    [Id(17)] public ExclusiveScope Exclusive { get; init; }
}

/// <summary>
/// A workflow: jobs with dependencies (a directed acyclic graph, several parents and children per job). Its jobs
/// run in its <see cref="Priority"/>; at equal priority, jobs of workflows with a smaller <see cref="SizeHint"/> go first.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowDefinition")]
public sealed record WorkflowDefinition
{
    /// <summary>Optional id chosen by the caller, so a retried submit is safe; the SDK picks one when null.</summary>
    [Id(0)] public WorkflowId? Id { get; init; }

    /// <summary>Optional label shown in status (e.g. "upload-4711"); at most <see cref="WorkflowLimits.MaxLabelLength"/> characters.</summary>
    [Id(1)] public string? Name { get; init; }

    /// <summary>The submitting user or tenant; every job of the workflow belongs to it.</summary>
    [Id(2)] public string Tenant { get; init; } = JobRequest.DefaultTenant;

    /// <summary>Priority of every job of the workflow; see <see cref="JobPriority"/>.</summary>
    [Id(3)] public int Priority { get; init; } = JobPriority.Default;

    /// <summary>
    /// How big the workflow's unit of work is (e.g. the upload's file count), 0 or more. At equal priority, jobs of
    /// smaller workflows are taken first from a queue shard. Null: 0.
    /// </summary>
    [Id(4)] public long? SizeHint { get; init; }

    /// <summary>What a failed, cancelled or skipped job does to its children, unless the dependency says otherwise.</summary>
    [Id(5)] public WorkflowFailurePolicy FailurePolicy { get; init; } = WorkflowFailurePolicy.FailWorkflow;

    /// <summary>The jobs, each with the jobs it depends on.</summary>
    [Id(6)] public ImmutableArray<WorkflowJob> Jobs { get; init; } = [];

    /// <summary>
    /// A delayed workflow: its jobs start no earlier than this time (those without parents wait for it; the others
    /// start after them anyway). Null or a time already past: at once. See <see cref="JobRequest.NotBefore"/>.
    /// </summary>
    [Id(7)] public DateTimeOffset? NotBefore { get; init; }

    /// <summary>A URL called (a signed JSON POST) when the workflow ends; null: none (docs/webhooks.md).</summary>
    [Id(60)] public WebhookRequest? Webhook { get; init; }
}

/// <summary>Bounds on a workflow, so that its grain state stays bounded.</summary>
public static class WorkflowLimits
{
    /// <summary>Most jobs in one workflow, including jobs added later.</summary>
    public const int MaxJobs = 10_000;

    /// <summary>Most dependencies in one workflow, including those of jobs added later.</summary>
    public const int MaxDependencies = 100_000;

    /// <summary>Most payload bytes of all the jobs of one workflow together (4 MiB); each job also obeys the payload limit of jobs.</summary>
    public const int MaxTotalPayloadBytes = 4 * 1024 * 1024;

    /// <summary>Longest workflow name.</summary>
    public const int MaxLabelLength = 200;
}
