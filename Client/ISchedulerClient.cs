namespace Scheduler.Client;

/// <summary>
/// The .NET SDK. Register with <c>services.AddSchedulerClient()</c>. Every failure surfaces as
/// <see cref="SchedulerException"/> with a <see cref="SchedulerErrorCode"/>.
/// Convenience overloads (typed payloads, command jobs) are extension methods in SchedulerClientExtensions.
/// </summary>
public partial interface ISchedulerClient
{
    /// <summary>Records and queues jobs: all of them, or none when any request is invalid.</summary>
    Task<IReadOnlyList<SubmitResult>> SubmitManyAsync(IReadOnlyList<JobRequest> requests, CancellationToken cancellationToken = default);

    /// <summary>Null when no such job exists.</summary>
    Task<JobStatus?> GetStatusAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the job reaches a final state (long polls, no busy loop) or <paramref name="timeout"/> passes,
    /// and returns its last known status; null when no such job exists.
    /// </summary>
    Task<JobStatus?> WaitForFinalAsync(JobId id, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Jobs matching <paramref name="filter"/>, newest first, at most <see cref="JobFilter.Limit"/>.</summary>
    Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a job: a queued one at once (<see cref="CancelOutcome.Cancelled"/>); a running one is asked to stop and
    /// ends Cancelled unless its attempt succeeds first (<see cref="CancelOutcome.Requested"/>).
    /// <paramref name="reason"/> becomes its last error.
    /// </summary>
    Task<CancelOutcome> CancelAsync(JobId id, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a queued job's due time: it starts no earlier than <paramref name="notBefore"/>; null or a time already
    /// past: as soon as possible. A running or finished job is left as it is (see <see cref="RescheduleOutcome"/>).
    /// </summary>
    Task<RescheduleOutcome> RescheduleAsync(JobId id, DateTimeOffset? notBefore, CancellationToken cancellationToken = default);

    /// <summary>Every transition of the job, oldest first: time, state, attempt, silo and reason.</summary>
    Task<IReadOnlyList<JobTransition>> GetHistoryAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The job's log lines with a sequence number above <paramref name="afterSequence"/>, oldest first, at most
    /// <paramref name="max"/>; call again from the last one to read on.
    /// </summary>
    Task<IReadOnlyList<JobLogLine>> GetLogAsync(JobId id, long afterSequence = 0, int max = 1000, CancellationToken cancellationToken = default);

    /// <summary>How many jobs are in each state, over the whole cluster.</summary>
    Task<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>Dead-lettered (Failed) jobs, most recently failed first, each with why and its last error.</summary>
    Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts dead-lettered jobs back in their queues, each with <paramref name="attempts"/> more attempts (null: as many
    /// as it was first given). One result per id, in order; a job that is not Failed is left as it is.
    /// </summary>
    Task<IReadOnlyList<RequeueResult>> RequeueAsync(IReadOnlyList<JobId> ids, int? attempts = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes dead-lettered jobs with their history and log; they then read back as not found. One result per id,
    /// in order; a job that is not Failed is left as it is.
    /// </summary>
    Task<IReadOnlyList<PurgeResult>> PurgeDeadLettersAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every dead-lettered job matching <paramref name="filter"/> (e.g. <see cref="DeadLetterFilter.FailedBefore"/>),
    /// in batches of at most <see cref="DeadLetterFilter.Limit"/>; returns how many were purged.
    /// </summary>
    Task<long> PurgeDeadLettersAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);
}

/// <summary>A request the scheduler refused, or a scheduler it could not reach.</summary>
public class SchedulerException : Exception
{
    /// <summary>A refusal or failure with its <paramref name="code"/> and a message for people.</summary>
    public SchedulerException(SchedulerErrorCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>Why: stable, for programs to act on.</summary>
    public SchedulerErrorCode Code { get; }
}

/// <summary>
/// A submit refused because a bounded backlog (per queue or tenant) is full. Nothing of the refused call was accepted;
/// the jobs of earlier calls of the same submit (it is sent in batches of <see cref="SchedulerClientOptions.SubmitBatchSize"/>) were.
/// </summary>
public sealed class OverloadedException(string message, TimeSpan retryAfter, IReadOnlyList<SubmitResult> accepted)
    : SchedulerException(SchedulerErrorCode.Overloaded, message)
{
    /// <summary>How long to wait before trying again.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;

    /// <summary>Jobs of this submit accepted before the refusal (from earlier batches), in request order; usually none.</summary>
    public IReadOnlyList<SubmitResult> Accepted { get; } = accepted;
}
