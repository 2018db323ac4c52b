using System.Collections.Immutable;

namespace Scheduler;

/// <summary>Where a workflow is. Values are stored and sent on the wire: never renumber them.</summary>
[GenerateSerializer, Alias("scheduler.WorkflowState")]
public enum WorkflowState
{
    /// <summary>Jobs are released as their parents end.</summary>
    Running = 1,

    /// <summary>No job is released; jobs already queued or running go on.</summary>
    Paused = 2,

    /// <summary>Final: every job succeeded.</summary>
    Succeeded = 3,

    /// <summary>
    /// Final: a job failed under <see cref="WorkflowFailurePolicy.FailWorkflow"/> (jobs that had not started were
    /// cancelled), or every job ended and some did not succeed.
    /// </summary>
    Failed = 4,

    /// <summary>Final: cancelled by a user.</summary>
    Cancelled = 5,
}

/// <summary>Where one job of a workflow is. Values are sent on the wire: never renumber them.</summary>
[GenerateSerializer, Alias("scheduler.WorkflowJobState")]
public enum WorkflowJobState
{
    /// <summary>Waits for its parents (the dependent queue).</summary>
    Waiting = 1,

    /// <summary>Its parents have ended, but the workflow is paused: released on resume.</summary>
    Ready = 2,

    /// <summary>Released: its job waits in its queue.</summary>
    Queued = 3,

    /// <summary>Its job runs.</summary>
    Running = 4,
    /// <summary>Its job succeeded.</summary>
    Succeeded = 5,
    /// <summary>Its job failed (dead-lettered).</summary>
    Failed = 6,
    /// <summary>Its job was cancelled, or the workflow was cancelled before the job was released.</summary>
    Cancelled = 7,

    /// <summary>Will not run: a parent did not succeed and the dependency's policy is SkipDescendants.</summary>
    Skipped = 8,
}

/// <summary>Rules about workflow states.</summary>
public static class WorkflowStates
{
    /// <summary>True for Succeeded, Failed and Cancelled.</summary>
    public static bool IsFinal(this WorkflowState state) =>
        state is WorkflowState.Succeeded or WorkflowState.Failed or WorkflowState.Cancelled;

    /// <summary>True for the states a job of a workflow never leaves on its own (a rerun aside).</summary>
    public static bool IsFinal(this WorkflowJobState state) =>
        state is WorkflowJobState.Succeeded or WorkflowJobState.Failed or WorkflowJobState.Cancelled or WorkflowJobState.Skipped;
}

/// <summary>A workflow as a client sees it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowStatus")]
public sealed record WorkflowStatus
{
    /// <summary>The workflow's id.</summary>
    [Id(0)] public required WorkflowId Id { get; init; }
    /// <summary>Its label, if it was given one.</summary>
    [Id(1)] public string? Name { get; init; }
    /// <summary>Its state.</summary>
    [Id(2)] public required WorkflowState State { get; init; }
    /// <summary>Who submitted it.</summary>
    [Id(3)] public required string Tenant { get; init; }
    /// <summary>The priority of its jobs.</summary>
    [Id(4)] public int Priority { get; init; }
    /// <summary>Its size hint (0 when none was given).</summary>
    [Id(5)] public long SizeHint { get; init; }
    /// <summary>What a failed, cancelled or skipped job does to its children by default.</summary>
    [Id(6)] public WorkflowFailurePolicy FailurePolicy { get; init; }
    /// <summary>When it was submitted.</summary>
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When its first job started (null before).</summary>
    [Id(8)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When it reached its final state (null while it is not final).</summary>
    [Id(9)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>Why it failed or was cancelled.</summary>
    [Id(10)] public string? Reason { get; init; }
    /// <summary>Jobs per state (states without jobs are left out).</summary>
    [Id(11)] public ImmutableDictionary<WorkflowJobState, int> Counts { get; init; } = ImmutableDictionary<WorkflowJobState, int>.Empty;
    /// <summary>Every job, parents before children (a topological order).</summary>
    [Id(12)] public ImmutableArray<WorkflowJobStatus> Jobs { get; init; } = [];
    /// <summary>A delayed workflow, until its due time: no job of it starts before this.</summary>
    [Id(13)] public DateTimeOffset? NotBefore { get; init; }
}

/// <summary>One job of a workflow.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowJobStatus")]
public sealed record WorkflowJobStatus
{
    /// <summary>The job's name, unique in its workflow.</summary>
    [Id(0)] public required string Name { get; init; }
    /// <summary>Its state.</summary>
    [Id(1)] public required WorkflowJobState State { get; init; }
    /// <summary>The job of the current run, once released (see <see cref="WorkflowId.JobIdOf"/>).</summary>
    [Id(2)] public JobId? JobId { get; init; }
    /// <summary>The run: 1, then one more for each rerun of the failed part that included this job.</summary>
    [Id(3)] public int Run { get; init; }
    /// <summary>Attempts of the current run's job so far.</summary>
    [Id(4)] public int Attempt { get; init; }
    /// <summary>The names of the jobs it waits for.</summary>
    [Id(5)] public ImmutableArray<string> DependsOn { get; init; } = [];
    /// <summary>When the current run's job started.</summary>
    [Id(6)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When the current run's job ended.</summary>
    [Id(7)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>Why it did not succeed (the job's last error, or why it was skipped or cancelled).</summary>
    [Id(8)] public string? LastError { get; init; }
}

/// <summary>
/// The answer of a workflow grain to a command. <see cref="State"/> is null when no such workflow exists;
/// <see cref="Errors"/> is non-empty when the command was refused (then nothing changed).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowReply")]
public sealed record WorkflowReply
{
    /// <summary>The workflow's state after the command; null when no such workflow exists.</summary>
    [Id(0)] public WorkflowState? State { get; init; }
    /// <summary>How many jobs the command touched (submitted, added, rerun, cancelled).</summary>
    [Id(1)] public int Affected { get; init; }
    /// <summary>Why the command was refused, if it was.</summary>
    [Id(2)] public ImmutableArray<RequestError> Errors { get; init; } = [];
    /// <summary>For a submit: Accepted, or Existing when a workflow with this id already existed (nothing changed).</summary>
    [Id(3)] public SubmitOutcome? Outcome { get; init; }

    /// <summary>True when the command was carried out.</summary>
    public bool Succeeded => Errors.IsDefaultOrEmpty;

    /// <summary>A refusal with one error.</summary>
    public static WorkflowReply Refused(SchedulerErrorCode code, string message, WorkflowState? state = null) =>
        new() { State = state, Errors = [new RequestError(-1, code, message)] };
}

/// <summary>The answer to <c>SubmitWorkflowAsync</c>.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowSubmitResult")]
public sealed record WorkflowSubmitResult(
    [property: Id(0)] WorkflowId Id,
    [property: Id(1)] SubmitOutcome Outcome,
    [property: Id(2)] WorkflowState State);

/// <summary>What a workflow's job tells its workflow when it reaches a final state.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowJobEvent")]
public sealed record WorkflowJobEvent(
    [property: Id(0)] JobId Job,
    [property: Id(1)] JobState State,
    [property: Id(2)] int Attempt,
    [property: Id(3)] DateTimeOffset? StartedAt,
    [property: Id(4)] DateTimeOffset? FinishedAt,
    [property: Id(5)] string? LastError);
