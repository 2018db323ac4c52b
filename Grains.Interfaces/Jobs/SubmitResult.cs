using System.Collections.Immutable;

namespace Scheduler;

/// <summary>Whether a submit recorded a new job.</summary>
[GenerateSerializer, Alias("scheduler.SubmitOutcome")]
public enum SubmitOutcome
{
    /// <summary>A new job was recorded and queued.</summary>
    Accepted = 1,

    /// <summary>A job with this id (or idempotency key) already existed; nothing new was queued.</summary>
    Existing = 2,
}

/// <summary>What became of one submitted job.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Outcome">Whether it is new or already existed.</param>
/// <param name="State">Its state at the answer.</param>
[GenerateSerializer, Immutable, Alias("scheduler.SubmitResult")]
public sealed record SubmitResult(
    [property: Id(0)] JobId Id,
    [property: Id(1)] SubmitOutcome Outcome,
    [property: Id(2)] JobState State);

/// <summary>Why a request was refused. Codes are stable and meant for programs.</summary>
[GenerateSerializer, Alias("scheduler.SchedulerErrorCode")]
public enum SchedulerErrorCode
{
    /// <summary>The request breaks a rule (a name, a range, a limit); the message names it.</summary>
    InvalidRequest = 1,
    /// <summary>No silo serves the handler the request names.</summary>
    UnknownHandler = 2,
    /// <summary>The silo does not serve the queue the request names.</summary>
    UnknownQueue = 3,
    /// <summary>The payload is larger than the silo accepts.</summary>
    PayloadTooLarge = 4,
    /// <summary>No such job or workflow.</summary>
    NotFound = 5,
    /// <summary>The job or workflow is not in a state that allows the command.</summary>
    InvalidState = 6,
    /// <summary>No silo could be reached, or it did not answer in time.</summary>
    Unavailable = 7,
    /// <summary>An id or idempotency key is already used by a different request.</summary>
    Conflict = 8,
    /// <summary>A bounded backlog (per queue or tenant) is full: nothing was accepted; try again after the error's retry-after.</summary>
    Overloaded = 9,
}

/// <summary>One problem with one request of a batch.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.RequestError")]
public sealed record RequestError(
    [property: Id(0)] int Index,
    [property: Id(1)] SchedulerErrorCode Code,
    [property: Id(2)] string Message)
{
    /// <summary>With <see cref="SchedulerErrorCode.Overloaded"/>: how long to wait before trying again.</summary>
    [Id(3)] public TimeSpan? RetryAfter { get; init; }
}

/// <summary>
/// The answer to a batch submit: either every job was recorded (<see cref="Jobs"/>, in request order)
/// or none was (<see cref="Errors"/> says why, per request).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.SubmitBatchResult")]
public sealed record SubmitBatchResult(
    [property: Id(0)] ImmutableArray<SubmitResult> Jobs,
    [property: Id(1)] ImmutableArray<RequestError> Errors)
{
    /// <summary>True when every job was recorded.</summary>
    public bool Succeeded => Errors.IsDefaultOrEmpty;
}

/// <summary>What a cancel did.</summary>
[GenerateSerializer, Alias("scheduler.CancelOutcome")]
public enum CancelOutcome
{
    /// <summary>The job was queued and is now Cancelled.</summary>
    Cancelled = 1,
    /// <summary>The job had already ended; nothing changed.</summary>
    AlreadyFinal = 2,
    /// <summary>No such job.</summary>
    NotFound = 3,
    /// <summary>
    /// The job is running: its executor is told to stop the attempt (within a lease check interval) and the job
    /// ends Cancelled, unless the attempt succeeds first.
    /// </summary>
    Requested = 4,
}

/// <summary>Job counts of the whole cluster.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueueStats")]
public sealed record QueueStats
{
    /// <summary>Jobs per state, over all queues.</summary>
    [Id(0)] public ImmutableDictionary<JobState, long> ByState { get; init; } = ImmutableDictionary<JobState, long>.Empty;
}
