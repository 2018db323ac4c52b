namespace Scheduler.Storage;

/// <summary>
/// Scheduler's own tables: a row per job, holding both the job grain's whole state (serialized, versioned) and
/// the columns queues rebuild from after a crash and listings read; the jobs' history and logs.
/// Every method returns only once its change is durable.
/// </summary>
public interface IJobStore
{
    /// <summary>
    /// Inserts or updates job rows (keyed by id; CreatedAt is kept from the first insert), and records each as a
    /// transition in the job's history, in the same transaction. A record with a <see cref="JobRecord.Version"/>
    /// above 0 is written only if the stored row is at the version before it (an absent row counts as version 0,
    /// and only version 1 may create a row): optimistic concurrency for the job grain's state.
    /// </summary>
    /// <returns>
    /// The ids of versioned records that were not written because their row was at another version (neither
    /// row nor history changed for them); empty when everything was written.
    /// </returns>
    Task<IReadOnlyList<JobId>> SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default);

    /// <summary>The stored grain state of each job that has a row (jobs without a row are left out).</summary>
    Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default);

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

    /// <summary>
    /// Failed (dead-lettered) jobs, most recently failed (updated) first, each with the reason of its last recorded
    /// transition as its last error.
    /// </summary>
    Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the rows of those of the given jobs that are Failed, and the history and log of each given job that
    /// then has no row (so a job in any other state keeps everything). Returns how many job rows were deleted.
    /// </summary>
    Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts or updates workflow rows. Version 1 creates a row (and conflicts with any existing one); a higher
    /// version is written only over the version before it. Returns the ids of records not written for that reason.
    /// </summary>
    Task<IReadOnlyList<WorkflowId>> SaveWorkflowsAsync(IReadOnlyList<WorkflowRecord> records, CancellationToken cancellationToken = default);

    /// <summary>The stored state of each workflow that has a row (workflows without one are left out).</summary>
    Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> workflows of one <see cref="WorkflowRecord.Bucket"/> that are watched (have
    /// released jobs not yet heard of) and were last written before <paramref name="updatedBefore"/>, oldest first.
    /// </summary>
    Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the last-written time of the given workflows to <paramref name="at"/> (where it is earlier) and changes
    /// nothing else: a watchdog's mark that it has checked them, which sends them to the back of its list.
    /// </summary>
    Task TouchWorkflowsAsync(IReadOnlyList<WorkflowId> ids, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the Orleans grain storage table (<c>OrleansStorage</c>, in the same database) holds any state of the
    /// service under <paramref name="stateName"/>: state stored there before it moved into Scheduler's own rows.
    /// </summary>
    Task<bool> HasOrleansStateAsync(string stateName, CancellationToken cancellationToken = default);
}

/// <summary>One workflow grain state write.</summary>
/// <param name="Watch">True while the workflow has released jobs it has not heard the end of.</param>
public sealed record WorkflowRecord(WorkflowId Id, int Version, WorkflowState State, bool Watch, DateTimeOffset UpdatedAt, byte[] Data)
{
    /// <summary>Watchdog buckets: each watched workflow is looked after by the watchdog of its bucket.</summary>
    public const int Buckets = 16;

    public int Bucket => BucketOf(Id);

    /// <summary>A stable bucket from the id (the same in every process and version).</summary>
    public static int BucketOf(WorkflowId id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.Value.TryWriteBytes(bytes);
        return bytes[15] % Buckets;
    }
}

/// <summary>A workflow grain's state as stored.</summary>
public sealed record StoredWorkflowState(int Version, byte[] Data);

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
    string? Reason = null)
{
    /// <summary>The version this write creates (see <see cref="IJobStore.SaveAsync"/>); 0 writes unconditionally.</summary>
    public int Version { get; init; }

    /// <summary>The job grain's serialized state; null leaves none in the row.</summary>
    public byte[]? Data { get; init; }

    /// <summary>
    /// Set on a job's first write when that is not its Queued one (a workflow's job is first written when it starts):
    /// the history then also gets the Queued transition, at this time, before this record's own.
    /// </summary>
    public DateTimeOffset? QueuedAt { get; init; }
}

/// <summary>A job grain's state as stored: <see cref="Data"/> is null for a row written without one.</summary>
public sealed record StoredJobState(int Version, byte[]? Data);

public sealed record JobLogRecord(
    JobId Id,
    int Attempt,
    LogStream Stream,
    DateTimeOffset Timestamp,
    string Text);
