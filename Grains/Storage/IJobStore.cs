namespace Scheduler.Storage;

/// <summary>
/// Scheduler's own tables: a queryable row per job (what the queues rebuild from after a crash, and what
/// listings read) and the jobs' logs. The job grain's full state lives in Orleans grain storage; this is the index.
/// Every method returns only once its change is durable.
/// </summary>
public interface IJobStore
{
    /// <summary>
    /// Inserts or updates job rows (keyed by id; CreatedAt is kept from the first insert), and records each as a
    /// transition in the job's history, in the same transaction.
    /// </summary>
    Task SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Jobs of one queue shard that are Queued or Running: what a shard reloads when it activates.</summary>
    Task<IReadOnlyList<QueueEntry>> LoadOpenAsync(string queue, int shard, CancellationToken cancellationToken = default);

    /// <summary>Newest first (by CreatedAt, then id).</summary>
    Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default);

    Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Appends log lines; the store assigns each a sequence number, increasing per job.</summary>
    Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default);

    /// <summary>Every recorded transition of the job, oldest first.</summary>
    Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default);

    /// <summary>Lines with Sequence greater than <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default);
}

public sealed record JobRecord(
    JobId Id,
    string Queue,
    int Shard,
    int Priority,
    string Tenant,
    string Handler,
    JobState State,
    int Attempt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Silo = null,
    string? Reason = null);

public sealed record JobLogRecord(
    JobId Id,
    int Attempt,
    LogStream Stream,
    DateTimeOffset Timestamp,
    string Text);
