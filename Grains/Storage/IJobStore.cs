namespace Scheduler.Storage;

/// <summary>
/// Job rows and their history: a row per job holds the job grain's whole state (serialized, versioned) and the
/// columns that queues rebuild from after a crash and listings read. Every method returns only once its change is durable.
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

    /// <summary>
    /// Up to <paramref name="limit"/> of the jobs of one queue shard that are Queued or Running, each at the place its
    /// record gave it (see <see cref="JobRecord.QueuedAsOf"/>), highest priority first, then by
    /// creation and id, starting after <paramref name="after"/> (null: from the first): a shard rebuilds from these
    /// pages one at a time, so a large backlog is neither read nor held in one piece. Each page costs the same however
    /// deep it is (keyset pagination over the open rows' index). Jobs due at or after <paramref name="dueBefore"/>
    /// (<see cref="JobRecord.NotBefore"/>) are left out: their grains' reminders bring them.
    /// </summary>
    Task<OpenRowsPage> LoadOpenPageAsync(string queue, int shard, DateTimeOffset dueBefore, OpenRowPosition? after, int limit,
        CancellationToken cancellationToken = default);

    /// <summary>Newest first (by CreatedAt, then id).</summary>
    Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// The Running jobs <see cref="ListAsync"/> lists for <paramref name="filter"/> (its state taken as Running), read
    /// among <paramref name="running"/>, the jobs the silos hold running now: a store whose rows no index holds by state
    /// reads these by key rather than search its open rows. A store that finds them by state may ignore the ids.
    /// </summary>
    Task<IReadOnlyList<JobSummary>> ListRunningAsync(JobFilter filter, IReadOnlyCollection<JobId> running, CancellationToken cancellationToken = default) =>
        ListAsync(filter with { State = JobState.Running }, cancellationToken);

    Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Queued jobs per queue and tenant (only pairs with some): what backpressure bounds.</summary>
    Task<IReadOnlyList<QueuedCount>> CountQueuedAsync(CancellationToken cancellationToken = default);

    /// <summary>Every recorded transition of the job, oldest first.</summary>
    Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default);
}

public static class JobStoreExtensions
{
    /// <summary>Every page of <see cref="IJobStore.LoadOpenPageAsync"/>, in their order, in one list.</summary>
    public static async Task<IReadOnlyList<QueueEntry>> LoadOpenAsync(this IJobStore store, string queue, int shard, DateTimeOffset dueBefore,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var open = new List<QueueEntry>();
        OpenRowPosition? after = null;
        do
        {
            var page = await store.LoadOpenPageAsync(queue, shard, dueBefore, after, OpenRowsPage.DefaultSize, cancellationToken).ConfigureAwait(false);
            open.AddRange(page.Entries);
            after = page.Next;
        }
        while (after is not null);
        return open;
    }
}

/// <summary>Where a page of open rows ended (see <see cref="IJobStore.LoadOpenPageAsync"/>): the last row's key in their order.</summary>
public readonly record struct OpenRowPosition(int Priority, long CreatedAtTicks, JobId Id);

/// <summary>A page of open rows and where the next starts (null when this was the last).</summary>
public sealed record OpenRowsPage(IReadOnlyList<QueueEntry> Entries, OpenRowPosition? Next)
{
    /// <summary>Rows per page when a shard rebuilds.</summary>
    public const int DefaultSize = 1000;
}

/// <summary>How many jobs of one queue and tenant are Queued.</summary>
public sealed record QueuedCount(string Queue, string Tenant, long Count);

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

    /// <summary>
    /// With <see cref="Priority"/> and <see cref="SizeHint"/>, the job's place in its queue shard
    /// (<see cref="JobGrainState.QueuedAs"/>): the time it is queued by. Null means <see cref="CreatedAt"/>.
    /// </summary>
    public DateTimeOffset? QueuedAsOf { get; init; }

    /// <summary>Its workflow's size hint (0 for other jobs): at equal priority, the shard serves smaller ones first.</summary>
    public long SizeHint { get; init; }

    /// <summary>While Queued with a due time (a delayed job, or a retry delay): not to start before this. Null otherwise.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>The workflow the job belongs to, null for other jobs: retention deletes a workflow's jobs with it.</summary>
    public WorkflowId? Workflow { get; init; }
}

/// <summary>A job grain's state as stored: <see cref="Data"/> is null for a row written without one.</summary>
public sealed record StoredJobState(int Version, byte[]? Data);
