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

    Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default);

    Task<CancelOutcome> CancelAsync(JobId id, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Every transition of the job, oldest first: time, state, attempt, silo and reason.</summary>
    Task<IReadOnlyList<JobTransition>> GetHistoryAsync(JobId id, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<JobLogLine>> GetLogAsync(JobId id, long afterSequence = 0, int max = 1000, CancellationToken cancellationToken = default);

    Task<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default);
}

/// <summary>A request the scheduler refused, or a scheduler it could not reach.</summary>
public sealed class SchedulerException : Exception
{
    public SchedulerException(SchedulerErrorCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    public SchedulerErrorCode Code { get; }
}
