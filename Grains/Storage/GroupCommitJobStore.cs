using System.Collections.Concurrent;

namespace Scheduler.Storage;

/// <summary>
/// Group commit in front of another <see cref="ISchedulerStore"/>: concurrent <see cref="SaveAsync"/> calls (and,
/// separately, <see cref="AppendLogAsync"/>, <see cref="ReadStatesAsync"/>, <see cref="SaveWorkflowsAsync"/>,
/// <see cref="ReadWorkflowsAsync"/>, <see cref="SaveSchedulesAsync"/>, <see cref="SaveFlowKeysAsync"/> and
/// <see cref="ReadFlowKeysAsync"/> calls) are merged into one call of the
/// inner store, so many callers share one transaction (or one query). Up to <see cref="MaxConcurrentBatches"/>
/// batches of a kind are written at once; while they are, new calls accumulate, and the next writer free takes
/// everything waiting (up to <see cref="MaxBatchRecords"/> records; one call's records are never split).
/// There is no delay and no timer: a call arriving at an idle store is written at once.
/// Concurrent batches never hold the same job twice in practice (a job grain awaits each of its writes), and if
/// two activations of one job ever raced, the versions of <see cref="IJobStore.SaveAsync"/> refuse the stale one.
/// Each caller's task completes when the batch holding its records is durable, or faults with that batch's
/// exception. A call cancelled while still waiting is dropped; once its batch is being written it is not.
/// Other reads pass straight through.
/// </summary>
public sealed class GroupCommitJobStore : ISchedulerStore, IAccessStore, IWebhookStore
{
    public const int DefaultMaxBatchRecords = 2_000;

    private readonly ISchedulerStore _inner;
    private readonly GroupCommitter<JobRecord, IReadOnlyList<JobId>> _saves;
    private readonly GroupCommitter<JobLogRecord, bool> _logs;
    private readonly GroupCommitter<JobId, IReadOnlyDictionary<JobId, StoredJobState>> _reads;
    private readonly GroupCommitter<WorkflowRecord, IReadOnlyList<WorkflowId>> _workflowSaves;
    private readonly GroupCommitter<WorkflowId, IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> _workflowReads;
    private readonly GroupCommitter<ScheduleRecord, IReadOnlyList<string>> _scheduleSaves;
    private readonly GroupCommitter<FlowKeyRecord, IReadOnlyList<string>> _flowKeySaves;
    private readonly GroupCommitter<string, IReadOnlyDictionary<string, StoredFlowKey>> _flowKeyReads;

    /// <param name="inner">The store written to.</param>
    /// <param name="maxBatchRecords">Most records one merged call carries.</param>
    /// <param name="maxConcurrentBatches">
    /// Batches of a kind written at once: 1 for a single-writer database (SQLite); more for a server, whose
    /// concurrent commits share disk syncs, so batches overlap instead of queueing behind each other.
    /// </param>
    public GroupCommitJobStore(ISchedulerStore inner, int maxBatchRecords = DefaultMaxBatchRecords, int maxConcurrentBatches = 1)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchRecords);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxConcurrentBatches);
        _inner = inner;
        MaxBatchRecords = maxBatchRecords;
        MaxConcurrentBatches = maxConcurrentBatches;
        _saves = new GroupCommitter<JobRecord, IReadOnlyList<JobId>>(inner.SaveAsync, maxBatchRecords, maxConcurrentBatches);
        _logs = new GroupCommitter<JobLogRecord, bool>(async (lines, ct) =>
        {
            await inner.AppendLogAsync(lines, ct).ConfigureAwait(false);
            return true;
        }, maxBatchRecords, maxConcurrentBatches);
        _reads = new GroupCommitter<JobId, IReadOnlyDictionary<JobId, StoredJobState>>(inner.ReadStatesAsync, maxBatchRecords, maxConcurrentBatches);
        _workflowSaves = new GroupCommitter<WorkflowRecord, IReadOnlyList<WorkflowId>>(inner.SaveWorkflowsAsync, maxBatchRecords, maxConcurrentBatches);
        _workflowReads = new GroupCommitter<WorkflowId, IReadOnlyDictionary<WorkflowId, StoredWorkflowState>>(inner.ReadWorkflowsAsync, maxBatchRecords, maxConcurrentBatches);
        _scheduleSaves = new GroupCommitter<ScheduleRecord, IReadOnlyList<string>>(inner.SaveSchedulesAsync, maxBatchRecords, maxConcurrentBatches);
        _flowKeySaves = new GroupCommitter<FlowKeyRecord, IReadOnlyList<string>>(inner.SaveFlowKeysAsync, maxBatchRecords, maxConcurrentBatches);
        _flowKeyReads = new GroupCommitter<string, IReadOnlyDictionary<string, StoredFlowKey>>(inner.ReadFlowKeysAsync, maxBatchRecords, maxConcurrentBatches);
    }

    /// <summary>Most records one merged call carries (a single larger call still goes alone, whole).</summary>
    public int MaxBatchRecords { get; }

    /// <summary>Most batches of a kind (saves, log appends, reads) in flight at once.</summary>
    public int MaxConcurrentBatches { get; }

    public async Task<IReadOnlyList<JobId>> SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            return [];
        var conflicts = await _saves.EnqueueAsync(records, cancellationToken).ConfigureAwait(false);
        if (conflicts.Count == 0)
            return [];
        // The batch's conflicts, narrowed to this call's records.
        var mine = records.Select(r => r.Id).ToHashSet();
        return [.. conflicts.Where(mine.Contains)];
    }

    public async Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
            return new Dictionary<JobId, StoredJobState>();
        var found = await _reads.EnqueueAsync(ids, cancellationToken).ConfigureAwait(false);
        var mine = new Dictionary<JobId, StoredJobState>(ids.Count);
        foreach (var id in ids)
        {
            if (found.TryGetValue(id, out var state))
                mine[id] = state;
        }
        return mine;
    }

    public Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? Task.CompletedTask : _logs.EnqueueAsync(lines, cancellationToken);
    }

    public Task<OpenRowsPage> LoadOpenPageAsync(string queue, int shard, DateTimeOffset dueBefore, OpenRowPosition? after, int limit,
        CancellationToken cancellationToken = default) =>
        _inner.LoadOpenPageAsync(queue, shard, dueBefore, after, limit, cancellationToken);

    public Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) =>
        _inner.ListAsync(filter, cancellationToken);

    public Task<IReadOnlyList<JobSummary>> ListRunningAsync(JobFilter filter, IReadOnlyCollection<JobId> running, CancellationToken cancellationToken = default) =>
        _inner.ListRunningAsync(filter, running, cancellationToken);

    public Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default) =>
        _inner.CountByStateAsync(cancellationToken);

    public Task<IReadOnlyList<QueuedCount>> CountQueuedAsync(CancellationToken cancellationToken = default) =>
        _inner.CountQueuedAsync(cancellationToken);

    public Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default) =>
        _inner.ReadHistoryAsync(id, cancellationToken);

    public Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default) =>
        _inner.ReadLogAsync(id, afterSequence, max, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default) =>
        _inner.ListFailedAsync(filter, cancellationToken);

    /// <remarks>
    /// Passes through. A job is purged only when Failed, and a Failed job's grain saves nothing more, so no save of
    /// it can be waiting in this store's batch.
    /// </remarks>
    public Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default) =>
        _inner.PurgeFailedAsync(ids, cancellationToken);

    public Task<int> PruneJobsAsync(JobState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default) =>
        _inner.PruneJobsAsync(state, before, limit, cancellationToken);

    public Task<PrunedWorkflows> PruneWorkflowsAsync(WorkflowState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default) =>
        _inner.PruneWorkflowsAsync(state, before, limit, cancellationToken);

    public async Task<IReadOnlyList<WorkflowId>> SaveWorkflowsAsync(IReadOnlyList<WorkflowRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            return [];
        var conflicts = await _workflowSaves.EnqueueAsync(records, cancellationToken).ConfigureAwait(false);
        if (conflicts.Count == 0)
            return [];
        var mine = records.Select(r => r.Id).ToHashSet();
        return [.. conflicts.Where(mine.Contains)];
    }

    public async Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
            return new Dictionary<WorkflowId, StoredWorkflowState>();
        var found = await _workflowReads.EnqueueAsync(ids, cancellationToken).ConfigureAwait(false);
        var mine = new Dictionary<WorkflowId, StoredWorkflowState>(ids.Count);
        foreach (var id in ids)
        {
            if (found.TryGetValue(id, out var state))
                mine[id] = state;
        }
        return mine;
    }

    public Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default) =>
        _inner.ListWatchedWorkflowsAsync(bucket, updatedBefore, limit, cancellationToken);

    public Task<IReadOnlyList<StoredWorkflowRow>> ListWorkflowsAsync(WorkflowState? state, WorkflowId? after, int limit, CancellationToken cancellationToken = default) =>
        _inner.ListWorkflowsAsync(state, after, limit, cancellationToken);

    public Task TouchWorkflowsAsync(IReadOnlyList<WorkflowId> ids, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        _inner.TouchWorkflowsAsync(ids, at, cancellationToken);

    public async Task<IReadOnlyList<string>> SaveSchedulesAsync(IReadOnlyList<ScheduleRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            return [];
        var conflicts = await _scheduleSaves.EnqueueAsync(records, cancellationToken).ConfigureAwait(false);
        if (conflicts.Count == 0)
            return [];
        // The batch's conflicts, narrowed to this call's records.
        var mine = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return [.. conflicts.Where(mine.Contains)];
    }

    public async Task<IReadOnlyList<string>> SaveFlowKeysAsync(IReadOnlyList<FlowKeyRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            return [];
        var conflicts = await _flowKeySaves.EnqueueAsync(records, cancellationToken).ConfigureAwait(false);
        if (conflicts.Count == 0)
            return [];
        var mine = records.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        return [.. conflicts.Where(mine.Contains)];
    }

    public async Task<IReadOnlyDictionary<string, StoredFlowKey>> ReadFlowKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
            return new Dictionary<string, StoredFlowKey>(StringComparer.Ordinal);
        var found = await _flowKeyReads.EnqueueAsync(keys, cancellationToken).ConfigureAwait(false);
        var mine = new Dictionary<string, StoredFlowKey>(keys.Count, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (found.TryGetValue(key, out var state))
                mine[key] = state;
        }
        return mine;
    }

    public Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        _inner.ReadScheduleAsync(id, cancellationToken);

    public Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default) =>
        _inner.DeleteScheduleAsync(id, version, cancellationToken);

    public Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default) =>
        _inner.ListSchedulesAsync(after, limit, cancellationToken);

    private sealed class GroupCommitter<T, TResult>(
        Func<IReadOnlyList<T>, CancellationToken, Task<TResult>> write, int maxBatchRecords, int maxWriters)
    {
        // Without a lock: thousands of grains enqueue at once in a burst, and a lock here was the hottest contended
        // one on a busy two-core host (its waiters spin while its holder is descheduled).
        private readonly ConcurrentQueue<Request> _waiting = new();
        private int _writers;

        public Task<TResult> EnqueueAsync(IReadOnlyList<T> items, CancellationToken cancellationToken)
        {
            if (cancellationToken.IsCancellationRequested)
                return Task.FromCanceled<TResult>(cancellationToken);

            var request = new Request(items, cancellationToken);
            _waiting.Enqueue(request);
            // On the thread pool: ADO.NET providers such as Microsoft.Data.Sqlite complete "async" calls
            // synchronously, and the caller (often a grain) must not end up writing everyone else's batches.
            if (TryAddWriter())
                _ = Task.Run(WriteBatchesAsync);
            return request.Completion.Task;
        }

        private bool TryAddWriter()
        {
            for (var writers = Volatile.Read(ref _writers); writers < maxWriters; writers = Volatile.Read(ref _writers))
            {
                if (Interlocked.CompareExchange(ref _writers, writers + 1, writers) == writers)
                    return true;
            }
            return false;
        }

        // Runs while there is work; at most maxWriters instances at a time (counted by _writers).
        private async Task WriteBatchesAsync()
        {
            var batch = new List<Request>();
            var records = new List<T>();
            // A request taken that would have overflowed the last batch: it starts the next one.
            Request? carried = null;
            while (true)
            {
                batch.Clear();
                records.Clear();
                while (carried is not null || _waiting.TryDequeue(out carried))
                {
                    var next = carried;
                    if (batch.Count > 0 && records.Count + next.Items.Count > maxBatchRecords)
                        break;
                    carried = null;
                    if (next.CancellationToken.IsCancellationRequested)
                    {
                        next.Completion.TrySetCanceled(next.CancellationToken);
                        continue;
                    }
                    batch.Add(next);
                    records.AddRange(next.Items);
                }
                if (batch.Count == 0)
                {
                    Interlocked.Decrement(ref _writers);
                    // A request enqueued after the queue was seen empty, whose caller found every writer still
                    // counted, would wait for the next caller: take it unless another writer has started meanwhile.
                    if (_waiting.IsEmpty || !TryAddWriter())
                        return;
                    continue;
                }

                try
                {
                    // Not cancellable: callers of other requests share this write.
                    var result = await write(records.ToArray(), CancellationToken.None).ConfigureAwait(false);
                    foreach (var request in batch)
                        request.Completion.TrySetResult(result);
                }
                catch (Exception ex)
                {
                    foreach (var request in batch)
                        request.Completion.TrySetException(ex);
                }
            }
        }

        private sealed class Request(IReadOnlyList<T> items, CancellationToken cancellationToken)
        {
            public IReadOnlyList<T> Items { get; } = items;
            public CancellationToken CancellationToken { get; } = cancellationToken;
            public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    // Keys and audit entries are rare writes: straight to the store, not through the group commit.
    private IAccessStore Access => _inner as IAccessStore
        ?? throw new NotSupportedException($"{_inner.GetType().Name} keeps no API keys or audit log");

    public Task<bool> InsertKeyAsync(StoredApiKey key, CancellationToken cancellationToken = default) => Access.InsertKeyAsync(key, cancellationToken);

    public Task<StoredApiKey?> ReadKeyAsync(string id, CancellationToken cancellationToken = default) => Access.ReadKeyAsync(id, cancellationToken);

    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken cancellationToken = default) => Access.ListKeysAsync(cancellationToken);

    public Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => Access.RevokeKeyAsync(id, at, cancellationToken);

    public Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default) => Access.AppendAuditAsync(entry, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before, int limit, CancellationToken cancellationToken = default) =>
        Access.ListAuditAsync(before, limit, cancellationToken);

    // Webhook deliveries are rare writes too (one row per end of a job that names a webhook, and one per attempt).
    private IWebhookStore Webhooks => _inner as IWebhookStore
        ?? throw new NotSupportedException($"{_inner.GetType().Name} keeps no webhook deliveries");

    public Task<bool> InsertDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default) => Webhooks.InsertDeliveryAsync(delivery, cancellationToken);

    public Task UpdateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default) => Webhooks.UpdateDeliveryAsync(delivery, cancellationToken);

    public Task<WebhookDelivery?> ReadDeliveryAsync(string id, CancellationToken cancellationToken = default) => Webhooks.ReadDeliveryAsync(id, cancellationToken);

    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default) =>
        Webhooks.ListDeliveriesAsync(filter, cancellationToken);
}
