using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One grain per job, keyed by <see cref="JobId"/>. Orleans runs at most one activation of it in the cluster,
/// which is what serialises every change to one job.
/// </summary>
[Alias("scheduler.IJobGrain")]
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Records the job (idempotent: an existing job is returned as it is) and says where it waits, if it does.
    /// <paramref name="order"/> places it among jobs of equal priority; null: by its own creation time.
    /// <paramref name="storeAtStart"/>: the caller submits the same id again should the job be lost before it starts
    /// (a schedule firing an occurrence), so the job may stay unstored until its start; one with a due time then waits
    /// for it in memory (a schedule's run fired ahead of its time), with no reminder.
    /// </summary>
    [Alias("Submit")]
    Task<JobSubmitted> Submit(JobRequest request, QueueOrder? order = null, bool storeAtStart = false);

    /// <summary>
    /// A worker asks to run the job. Returns what to run with a fresh attempt number (the fencing token),
    /// or null when the job is not runnable (already finished, cancelled, or running elsewhere).
    /// <paramref name="after"/>: the attempt on the same silo whose handler just returned holding a key this job needs,
    /// and whose slot it takes: the keys give that attempt's slots back as they decide this job's claims
    /// (<see cref="KeyClaim.After"/>), and <see cref="JobExecution.AfterReleased"/> says which did.
    /// </summary>
    [Alias("TryStart")]
    Task<JobExecution?> TryStart(SiloAddress silo, KeyPredecessor? after = null);

    /// <summary>
    /// Renews the lease of a running attempt, and tells its executor whether to go on. <see cref="LeaseStatus.Lost"/>:
    /// that attempt is no longer the job's current one and must stop, because the job may be running elsewhere.
    /// </summary>
    [Alias("Heartbeat")]
    Task<LeaseStatus> Heartbeat(int attempt);

    /// <summary>
    /// Asked by the silo's lease watch once the running attempt's lease seems to have passed its end: abandons the
    /// attempt (the job goes back to its queue, or fails with no attempts left) unless a renewal came meanwhile.
    /// Anything but a running job is left as it is.
    /// </summary>
    [Alias("CheckLease")]
    Task CheckLease();

    /// <summary>
    /// Reports the outcome of an attempt; an outcome for any attempt but the current one is ignored.
    /// <paramref name="keysHandedOn"/>: keys whose slot the attempt handed to the next job on its silo (see
    /// <see cref="TryStart"/>): that job's claim gives it back, or else the worker does, so the job does not.
    /// </summary>
    [Alias("Complete")]
    Task<JobState> Complete(int attempt, JobResult result, ImmutableArray<string> keysHandedOn = default);

    /// <summary>
    /// Cancels a queued job at once; a running job is asked to stop through its lease (see
    /// <see cref="CancelOutcome.Requested"/>).
    /// </summary>
    [Alias("Cancel")]
    Task<CancelOutcome> Cancel(string? reason);

    /// <summary>The job's status once stored; null when no such job exists.</summary>
    [Alias("GetStatus"), ReadOnly, AlwaysInterleave]
    Task<JobStatus?> GetStatus();

    /// <summary>
    /// Long poll: answers as soon as the job is in a final state, or after <paramref name="maxWait"/> with its
    /// current status. Null when no such job exists.
    /// </summary>
    [Alias("WaitForFinal"), ReadOnly, AlwaysInterleave]
    Task<JobStatus?> WaitForFinal(TimeSpan maxWait);

    /// <summary>
    /// A Failed (dead-lettered) job goes back to its queue with <paramref name="attempts"/> more attempts (null: as
    /// many as it was given at submit). Its attempt number keeps counting up. Any other job is left as it is.
    /// </summary>
    [Alias("Requeue")]
    Task<RequeueOutcome> Requeue(int? attempts);

    /// <summary>
    /// Puts a Queued job in its queue shard; should the shard not answer, the job grain tries again every few seconds
    /// until it does. Any other job is left as it is.
    /// </summary>
    [Alias("EnsureQueued")]
    Task EnsureQueued();

    /// <summary>
    /// Moves a Queued job's due time: it starts no earlier than <paramref name="notBefore"/>; null or a time already
    /// past: as soon as possible. A job that is running or has finished is left as it is.
    /// </summary>
    [Alias("Reschedule")]
    Task<RescheduleOutcome> Reschedule(DateTimeOffset? notBefore);

    /// <summary>
    /// Gives a Queued job another priority (<see cref="JobPriority"/>; out of range throws): stored, and its queue
    /// shard reorders at once. A job that is running or has finished is left as it is.
    /// </summary>
    [Alias("ChangePriority")]
    Task<PriorityChangeOutcome> ChangePriority(int priority);

    /// <summary>Deletes a Failed (dead-lettered) job: its grain state, job row, history and log. Any other job is left as it is.</summary>
    [Alias("Purge")]
    Task<PurgeOutcome> Purge();

    /// <summary>
    /// A concurrency key the job waits for has a slot for it: a Queued job goes back to its queue to try again.
    /// False: the job no longer waits (it started, ended or was cancelled), so the key serves its next waiter.
    /// </summary>
    [Alias("Wake")]
    Task<bool> Wake(string key);

    /// <summary>Whether attempt <paramref name="attempt"/> still runs and so holds its keys (a key's check for leaked slots).</summary>
    [Alias("HoldsKeys"), ReadOnly, AlwaysInterleave]
    Task<bool> HoldsKeys(int attempt);
}

/// <summary>
/// Where a job goes among the waiting jobs of equal priority: smaller <see cref="SizeHint"/> first, then earlier
/// <see cref="AsOf"/>. A workflow gives its jobs its own creation time and size hint, so its late jobs keep its place.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueueOrder")]
public readonly record struct QueueOrder(
    [property: Id(0)] DateTimeOffset AsOf,
    [property: Id(1)] long SizeHint);

/// <summary>A job grain's answer to a submit: the caller's result and, while the job waits to run, its place in a queue.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobSubmitted")]
public sealed record JobSubmitted(
    [property: Id(0)] SubmitResult Result,
    [property: Id(1)] QueuedJob? Waiting);

/// <summary>A job waiting to run: the key of the queue shard that holds it, and its entry there.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueuedJob")]
public readonly record struct QueuedJob(
    [property: Id(0)] string Shard,
    [property: Id(1)] QueueEntry Entry);

/// <summary>What <see cref="IJobGrain.Reschedule"/> did.</summary>
[GenerateSerializer, Alias("scheduler.RescheduleOutcome")]
public enum RescheduleOutcome
{
    /// <summary>The job waits for its new due time (or is queued now).</summary>
    Rescheduled = 1,

    /// <summary>No such job.</summary>
    NotFound = 2,

    /// <summary>The job is running: it has started already, and is left as it is.</summary>
    Running = 3,

    /// <summary>The job has finished (succeeded, failed or cancelled), and is left as it is.</summary>
    AlreadyFinal = 4,
}

/// <summary>What <see cref="IJobGrain.ChangePriority"/> did.</summary>
[GenerateSerializer, Alias("scheduler.PriorityChangeOutcome")]
public enum PriorityChangeOutcome
{
    /// <summary>The job waits with its new priority.</summary>
    Changed = 1,

    /// <summary>No such job.</summary>
    NotFound = 2,

    /// <summary>The job is running: it has started already, and is left as it is.</summary>
    Running = 3,

    /// <summary>The job has finished (succeeded, failed or cancelled), and is left as it is.</summary>
    AlreadyFinal = 4,
}

/// <summary>The answer to a lease renewal (<see cref="IJobGrain.Heartbeat"/>).</summary>
[GenerateSerializer, Alias("scheduler.LeaseStatus")]
public enum LeaseStatus
{
    /// <summary>The lease is renewed: go on.</summary>
    Renewed = 1,

    /// <summary>The attempt is not the job's current one any more: stop it.</summary>
    Lost = 2,

    /// <summary>The lease is renewed, but the job was cancelled: stop the attempt.</summary>
    CancelRequested = 3,
}

/// <summary>Everything a worker needs to run one attempt.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobExecution")]
public sealed record JobExecution
{
    /// <summary>The job.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>The attempt number: the fencing token every report of this attempt carries.</summary>
    [Id(1)] public required int Attempt { get; init; }
    /// <summary>The handler to run.</summary>
    [Id(2)] public required string Handler { get; init; }
    /// <summary>The job's payload.</summary>
    [Id(3)] public required System.Collections.Immutable.ImmutableArray<byte> Payload { get; init; }
    /// <summary>How long the attempt may run; null: no limit.</summary>
    [Id(4)] public TimeSpan? Timeout { get; init; }
    /// <summary>The job's queue.</summary>
    [Id(5)] public required string Queue { get; init; }
    /// <summary>Who submitted the job.</summary>
    [Id(6)] public required string Tenant { get; init; }
    /// <summary>Attempts the job gets in all.</summary>
    [Id(7)] public required int MaxAttempts { get; init; }
    /// <summary>The W3C trace context of the job's submit, which the attempt's span is a child of; null: none.</summary>
    [Id(20)] public string? TraceParent { get; init; }
    /// <summary>Rate-limited keys that counted this start: the worker tells each once the handler has begun (<see cref="IFlowKeyGrain.Started"/>).</summary>
    [Id(21)] public System.Collections.Immutable.ImmutableArray<string> RateKeys { get; init; } = [];
    /// <summary>The concurrency keys the attempt holds, each with the limit its key granted under (null: none).</summary>
    [Id(22)] public System.Collections.Immutable.ImmutableArray<ConcurrencyKey> HeldKeys { get; init; } = [];
    /// <summary>
    /// The keys that gave back the slot of the attempt this one started after (<see cref="KeyClaim.After"/>); the worker
    /// gives back those it handed on that are not among them.
    /// </summary>
    [Id(23)] public System.Collections.Immutable.ImmutableArray<string> AfterReleased { get; init; } = [];
}
