using System.Collections.Immutable;

namespace Scheduler;

[GenerateSerializer, Alias("scheduler.SubmitOutcome")]
public enum SubmitOutcome
{
    /// <summary>A new job was recorded and queued.</summary>
    Accepted = 1,

    /// <summary>A job with this id (or idempotency key) already existed; nothing new was queued.</summary>
    Existing = 2,
}

[GenerateSerializer, Immutable, Alias("scheduler.SubmitResult")]
public sealed record SubmitResult(
    [property: Id(0)] JobId Id,
    [property: Id(1)] SubmitOutcome Outcome,
    [property: Id(2)] JobState State);

/// <summary>Why a request was refused. Codes are stable and meant for programs.</summary>
[GenerateSerializer, Alias("scheduler.SchedulerErrorCode")]
public enum SchedulerErrorCode
{
    InvalidRequest = 1,
    UnknownHandler = 2,
    UnknownQueue = 3,
    PayloadTooLarge = 4,
    NotFound = 5,
    InvalidState = 6,
    Unavailable = 7,
    Conflict = 8,
}

/// <summary>One problem with one request of a batch.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.RequestError")]
public sealed record RequestError(
    [property: Id(0)] int Index,
    [property: Id(1)] SchedulerErrorCode Code,
    [property: Id(2)] string Message);

/// <summary>
/// The answer to a batch submit: either every job was recorded (<see cref="Jobs"/>, in request order)
/// or none was (<see cref="Errors"/> says why, per request).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.SubmitBatchResult")]
public sealed record SubmitBatchResult(
    [property: Id(0)] ImmutableArray<SubmitResult> Jobs,
    [property: Id(1)] ImmutableArray<RequestError> Errors)
{
    public bool Succeeded => Errors.IsDefaultOrEmpty;
}

[GenerateSerializer, Alias("scheduler.CancelOutcome")]
public enum CancelOutcome
{
    Cancelled = 1,
    AlreadyFinal = 2,
    NotFound = 3,
    /// <summary>
    /// The job is running: its executor is told to stop the attempt (within a lease check interval) and the job
    /// ends Cancelled, unless the attempt succeeds first.
    /// </summary>
    Requested = 4,
}

[GenerateSerializer, Immutable, Alias("scheduler.QueueStats")]
public sealed record QueueStats
{
    /// <summary>Jobs per state, over all queues.</summary>
    [Id(0)] public ImmutableDictionary<JobState, long> ByState { get; init; } = ImmutableDictionary<JobState, long>.Empty;
}
