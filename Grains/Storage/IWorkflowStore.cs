namespace Scheduler.Storage;

/// <summary>
/// Workflow rows: each holds a workflow grain's state (serialized, versioned) and whether the workflow is watched.
/// Every method returns only once its change is durable.
/// </summary>
public interface IWorkflowStore
{
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
    /// Up to <paramref name="limit"/> workflow rows, newest first (by id, which is time-ordered), optionally only those
    /// in <paramref name="state"/> and those after (older than) <paramref name="after"/>: the primary key's order, so a
    /// page costs the same at any depth.
    /// </summary>
    Task<IReadOnlyList<StoredWorkflowRow>> ListWorkflowsAsync(WorkflowState? state, WorkflowId? after, int limit, CancellationToken cancellationToken = default);
}

/// <summary>A workflow row as a listing reads it: the state, serialized as the grain stored it.</summary>
public sealed record StoredWorkflowRow(WorkflowId Id, WorkflowState State, byte[] Data);

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
