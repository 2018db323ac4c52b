using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Scheduler.Storage;

/// <summary>
/// Ephemeral <see cref="ISchedulerStore"/> for tests and benchmarks: everything is lost when the process ends.
/// Several silos in one process may share one instance (it stands in for a shared database).
/// </summary>
public sealed class InMemoryJobStore : ISchedulerStore, IAccessStore, IWebhookStore
{
    // A job's row and its history in one entry, in its stripe's own dictionary: added at its first write and changed in
    // place after that, under the stripe's lock. A concurrent dictionary took its own lock again inside the stripe's, and
    // each time it grew it locked every job's writes while it copied all of them.
    private readonly ConcurrentDictionary<JobId, List<JobLogLine>> _logs = new();
    private readonly ConcurrentDictionary<WorkflowId, WorkflowRecord> _workflows = new();
    private readonly ConcurrentDictionary<string, ScheduleRecord> _schedules = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FlowKeyRecord> _flowKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StoredApiKey> _keys = new(StringComparer.Ordinal);
    private readonly List<AuditEntry> _audit = [];
    private readonly ConcurrentDictionary<string, WebhookDelivery> _deliveries = new(StringComparer.Ordinal);
    // A job's writes lock its stripe only (bursts write thousands of jobs a second from every core); what spans jobs
    // (counts, purges, other tables) takes every stripe, listings each stripe in turn.
    private readonly Stripe[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new Stripe())];
    private readonly long[] _countByState = new long[16];
    // Queued jobs per queue and tenant, kept as rows change: backpressure reads them every second.
    private readonly ConcurrentDictionary<(string Queue, string Tenant), StrongBox<long>> _queued = new();
    private long _logSequence;

    public Task<IReadOnlyList<JobId>> SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default)
    {
        List<JobId>? conflicts = null;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var stripe = StripeOf(record.Id);
            lock (stripe.Lock)
            {
                var exists = stripe.Rows.TryGetValue(record.Id, out var row);
                var existing = row?.Record;
                var stored = existing?.Version ?? 0;
                if (record.Version > 0 && (stored != record.Version - 1 || (record.Version > 1 && !exists)))
                {
                    (conflicts ??= []).Add(record.Id);
                    continue;
                }
                if (row is not null && existing is not null)
                {
                    Count(existing, -1);
                    row.Record = record.CreatedAt == existing.CreatedAt && record.Version != 0
                        ? record
                        : record with { CreatedAt = existing.CreatedAt, Version = record.Version == 0 ? stored : record.Version };
                }
                else
                {
                    stripe.Rows[record.Id] = row = new Row(record);
                }
                Count(record, 1);
                var history = row.History;
                if (record.QueuedAt is { } queuedAt)
                    history.Add(new JobTransition { Timestamp = queuedAt, State = JobState.Queued, Attempt = 0 });
                history.Add(new JobTransition
                {
                    Timestamp = record.UpdatedAt,
                    State = record.State,
                    Attempt = record.Attempt,
                    Silo = record.Silo,
                    Reason = record.Reason,
                });
            }
        }
        return conflicts is null ? NoConflicts : Task.FromResult<IReadOnlyList<JobId>>(conflicts);
    }

    private static readonly Task<IReadOnlyList<JobId>> NoConflicts = Task.FromResult<IReadOnlyList<JobId>>([]);

    /// <summary>A job's row and history. Replaced and appended to under the job's stripe.</summary>
    private sealed class Row(JobRecord record)
    {
        private volatile JobRecord _record = record;

        public JobRecord Record { get => _record; set => _record = value; }

        public List<JobTransition> History { get; } = [];
    }

    private sealed class Stripe
    {
        public readonly Lock Lock = new();
        public readonly Dictionary<JobId, Row> Rows = [];
    }

    /// <summary>
    /// Every job's row, copied one stripe at a time under its lock (a moving view across stripes: under
    /// <see cref="LockAll"/> nothing moves).
    /// </summary>
    private List<JobRecord> Jobs
    {
        get
        {
            var jobs = new List<JobRecord>();
            foreach (var stripe in _stripes)
            {
                lock (stripe.Lock)
                {
                    foreach (var row in stripe.Rows.Values)
                        jobs.Add(row.Record);
                }
            }
            return jobs;
        }
    }

    private bool TryGetRow(JobId id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Row? row)
    {
        var stripe = StripeOf(id);
        lock (stripe.Lock)
            return stripe.Rows.TryGetValue(id, out row);
    }

    // Under LockAll.
    private bool RemoveRow(JobId id) => StripeOf(id).Rows.Remove(id);

    private Stripe StripeOf(JobId id) => _stripes[(id.Value.GetHashCode() & int.MaxValue) % _stripes.Length];

    private AllStripes LockAll()
    {
        foreach (var stripe in _stripes)
            stripe.Lock.Enter();
        return new AllStripes(_stripes);
    }

    private readonly struct AllStripes(Stripe[] stripes) : IDisposable
    {
        public void Dispose()
        {
            for (var i = stripes.Length - 1; i >= 0; i--)
                stripes[i].Lock.Exit();
        }
    }

    public Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<JobId, StoredJobState>();
        foreach (var id in ids)
        {
            if (TryGetRow(id, out var row) && row.Record is var job)
                found[id] = new StoredJobState(job.Version, job.Data);
        }
        return Task.FromResult<IReadOnlyDictionary<JobId, StoredJobState>>(found);
    }

    public Task<OpenRowsPage> LoadOpenPageAsync(string queue, int shard, DateTimeOffset dueBefore, OpenRowPosition? after, int limit,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        // The SQL stores' order and keyset: priority descending, then creation, then id.
        var page = Jobs
            .Where(j => j.Queue == queue && j.Shard == shard && j.State is JobState.Queued or JobState.Running
                && !(j.NotBefore >= dueBefore))
            .Select(j => (Key: new OpenRowPosition(j.Priority, j.CreatedAt.UtcTicks, j.Id),
                Entry: new QueueEntry(j.Id, j.Priority, (j.QueuedAsOf ?? j.CreatedAt).UtcTicks, j.SizeHint, j.Tenant)))
            .Where(x => after is not { } a || OpenRowOrder(x.Key, a) > 0)
            .OrderBy(x => x.Key, Comparer<OpenRowPosition>.Create(OpenRowOrder))
            .Take(limit)
            .ToList();
        return Task.FromResult(new OpenRowsPage([.. page.Select(x => x.Entry)], page.Count < limit ? null : page[^1].Key));
    }

    private static int OpenRowOrder(OpenRowPosition x, OpenRowPosition y)
    {
        var c = y.Priority.CompareTo(x.Priority);
        if (c != 0) return c;
        c = x.CreatedAtTicks.CompareTo(y.CreatedAtTicks);
        return c != 0 ? c : x.Id.CompareTo(y.Id);
    }

    public Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<JobSummary> rows = [.. Jobs
            .Where(j => (filter.State is null || j.State == filter.State)
                && (filter.Queue is null || j.Queue == filter.Queue)
                && (filter.Tenant is null || j.Tenant == filter.Tenant)
                && (filter.Handler is null || j.Handler == filter.Handler)
                && (filter.CreatedAfter is null || j.CreatedAt >= filter.CreatedAfter)
                && (filter.CreatedBefore is null || j.CreatedAt < filter.CreatedBefore)
                && (filter.IdPrefix is null || j.Id.ToString().StartsWith(filter.IdPrefix, StringComparison.OrdinalIgnoreCase))
                && (filter.Text is null || j.Id.ToString().StartsWith(filter.Text, StringComparison.OrdinalIgnoreCase)
                    || j.Handler.StartsWith(filter.Text, StringComparison.OrdinalIgnoreCase) || j.Tenant.StartsWith(filter.Text, StringComparison.OrdinalIgnoreCase))
                && (filter.After is null || j.CreatedAt < filter.After.CreatedAt
                    || (j.CreatedAt == filter.After.CreatedAt && j.Id.CompareTo(filter.After.Id) < 0)))
            .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .Take(filter.Limit)
            .Select(ToSummary)];
        return Task.FromResult(rows);
    }

    public Task<IReadOnlyList<QueuedCount>> CountQueuedAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<QueuedCount> counts = [.. _queued
            .Select(kv => new QueuedCount(kv.Key.Queue, kv.Key.Tenant, Interlocked.Read(ref kv.Value.Value)))
            .Where(count => count.Count > 0)];
        return Task.FromResult(counts);
    }

    /// <summary>Adds a row to the counts by state, and a queued one to its queue's and tenant's, or takes it out (-1).</summary>
    private void Count(JobRecord record, long delta)
    {
        Interlocked.Add(ref _countByState[(int)record.State], delta);
        if (record.State == JobState.Queued)
            Interlocked.Add(ref _queued.GetOrAdd((record.Queue, record.Tenant), static _ => new StrongBox<long>()).Value, delta);
    }

    public Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        using (LockAll())
        {
            IReadOnlyDictionary<JobState, long> counts = Enum.GetValues<JobState>()
                .Where(state => _countByState[(int)state] > 0)
                .ToDictionary(state => state, state => _countByState[(int)state]);
            return Task.FromResult(counts);
        }
    }

    public Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default)
    {
        foreach (var line in lines)
        {
            var log = _logs.GetOrAdd(line.Id, _ => []);
            lock (log)
            {
                log.Add(new JobLogLine
                {
                    Sequence = Interlocked.Increment(ref _logSequence),
                    Timestamp = line.Timestamp,
                    Attempt = line.Attempt,
                    Stream = line.Stream,
                    Text = line.Text,
                });
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default)
    {
        var stripe = StripeOf(id);
        lock (stripe.Lock)
            return Task.FromResult<IReadOnlyList<JobTransition>>(stripe.Rows.TryGetValue(id, out var row) ? [.. row.History] : []);
    }

    public Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default)
    {
        if (!_logs.TryGetValue(id, out var log))
            return Task.FromResult<IReadOnlyList<JobLogLine>>([]);
        lock (log)
            return Task.FromResult<IReadOnlyList<JobLogLine>>([.. log.Where(l => l.Sequence > afterSequence).Take(max)]);
    }

    public Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using (LockAll())
        {
            IReadOnlyList<DeadLetter> rows = [.. Jobs
                .Where(j => j.State == JobState.Failed
                    && (filter.Queue is null || j.Queue == filter.Queue)
                    && (filter.Tenant is null || j.Tenant == filter.Tenant)
                    && (filter.Handler is null || j.Handler == filter.Handler)
                    && (filter.FailedBefore is null || j.UpdatedAt < filter.FailedBefore))
                .OrderByDescending(j => j.UpdatedAt).ThenByDescending(j => j.Id)
                .Take(filter.Limit)
                .Select(j =>
                {
                    var lastError = TryGetRow(j.Id, out var row) && row.History.Count > 0 ? row.History[^1].Reason : null;
                    return new DeadLetter
                    {
                        Id = j.Id,
                        Reason = DeadLetters.ReasonOf(lastError),
                        LastError = lastError,
                        Handler = j.Handler,
                        Queue = j.Queue,
                        Tenant = j.Tenant,
                        Priority = j.Priority,
                        Attempt = j.Attempt,
                        CreatedAt = j.CreatedAt,
                        FailedAt = j.UpdatedAt,
                    };
                })];
            return Task.FromResult(rows);
        }
    }

    public Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var deleted = 0;
        using (LockAll())
        {
            foreach (var id in ids.Distinct())
            {
                if (TryGetRow(id, out var row))
                {
                    if (row.Record.State != JobState.Failed)
                        continue;
                    RemoveRow(id);
                    Count(row.Record, -1);
                    deleted++;
                }
                _logs.TryRemove(id, out _);
            }
        }
        return Task.FromResult(deleted);
    }

    public Task<int> PruneJobsAsync(JobState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default)
    {
        if (!state.IsFinal())
            throw new ArgumentOutOfRangeException(nameof(state), state, "Only finished jobs (Succeeded, Failed, Cancelled) are pruned.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using (LockAll())
        {
            var batch = Jobs
                .Where(j => j.State == state && j.UpdatedAt < before && j.Workflow is null)
                .OrderBy(j => j.UpdatedAt)
                .Take(limit)
                .ToList();
            foreach (var job in batch)
                RemoveJob(job);
            return Task.FromResult(batch.Count);
        }
    }

    public Task<PrunedWorkflows> PruneWorkflowsAsync(WorkflowState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default)
    {
        if (state is not (WorkflowState.Succeeded or WorkflowState.Failed or WorkflowState.Cancelled))
            throw new ArgumentOutOfRangeException(nameof(state), state, "Only finished workflows (Succeeded, Failed, Cancelled) are pruned.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using (LockAll())
        {
            var open = Jobs
                .Where(j => j.Workflow is not null && j.State is JobState.Queued or JobState.Running)
                .Select(j => j.Workflow!.Value)
                .ToHashSet();
            var batch = _workflows.Values
                .Where(w => w.State == state && w.UpdatedAt < before && !open.Contains(w.Id))
                .OrderBy(w => w.UpdatedAt)
                .Take(limit)
                .Select(w => w.Id)
                .ToHashSet();
            var jobs = Jobs.Where(j => j.Workflow is { } workflow && batch.Contains(workflow)).ToList();
            foreach (var job in jobs)
                RemoveJob(job);
            foreach (var id in batch)
                _workflows.TryRemove(id, out _);
            return Task.FromResult(new PrunedWorkflows(batch.Count, jobs.Count));
        }
    }

    // Under LockAll.
    private void RemoveJob(JobRecord job)
    {
        RemoveRow(job.Id);
        Count(job, -1);
        _logs.TryRemove(job.Id, out _);
    }

    public Task<IReadOnlyList<WorkflowId>> SaveWorkflowsAsync(IReadOnlyList<WorkflowRecord> records, CancellationToken cancellationToken = default)
    {
        List<WorkflowId>? conflicts = null;
        using (LockAll())
        {
            foreach (var record in records)
            {
                var stored = _workflows.TryGetValue(record.Id, out var existing) ? existing.Version : 0;
                if (record.Version != stored + 1)
                {
                    (conflicts ??= []).Add(record.Id);
                    continue;
                }
                _workflows[record.Id] = record;
            }
        }
        return Task.FromResult<IReadOnlyList<WorkflowId>>(conflicts ?? []);
    }

    public Task<IReadOnlyList<string>> SaveFlowKeysAsync(IReadOnlyList<FlowKeyRecord> records, CancellationToken cancellationToken = default)
    {
        List<string>? conflicts = null;
        using (LockAll())
        {
            foreach (var record in records)
            {
                var stored = _flowKeys.TryGetValue(record.Key, out var existing) ? existing.Version : 0;
                if (record.Version != stored + 1)
                {
                    (conflicts ??= []).Add(record.Key);
                    continue;
                }
                _flowKeys[record.Key] = record;
            }
        }
        return Task.FromResult<IReadOnlyList<string>>(conflicts ?? []);
    }

    public Task<IReadOnlyDictionary<string, StoredFlowKey>> ReadFlowKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, StoredFlowKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (_flowKeys.TryGetValue(key, out var row))
                found[key] = new StoredFlowKey(row.Version, row.Data);
        }
        return Task.FromResult<IReadOnlyDictionary<string, StoredFlowKey>>(found);
    }

    public Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<WorkflowId, StoredWorkflowState>();
        foreach (var id in ids)
        {
            if (_workflows.TryGetValue(id, out var workflow))
                found[id] = new StoredWorkflowState(workflow.Version, workflow.Data);
        }
        return Task.FromResult<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>>(found);
    }

    public Task<IReadOnlyList<StoredWorkflowRow>> ListWorkflowsAsync(WorkflowState? state, WorkflowId? after, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StoredWorkflowRow>>([.. _workflows.Values
            .Where(w => (state is null || w.State == state) && (after is null || string.CompareOrdinal(w.Id.ToString(), after.Value.ToString()) < 0))
            .OrderByDescending(w => w.Id.ToString(), StringComparer.Ordinal)
            .Take(limit)
            .Select(w => new StoredWorkflowRow(w.Id, w.State, w.Data))]);

    public Task TouchWorkflowsAsync(IReadOnlyList<WorkflowId> ids, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        using (LockAll())
        {
            foreach (var id in ids)
            {
                if (_workflows.TryGetValue(id, out var workflow) && workflow.UpdatedAt < at)
                    _workflows[id] = workflow with { UpdatedAt = at };
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> SaveSchedulesAsync(IReadOnlyList<ScheduleRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var conflicts = new List<string>();
        using (LockAll())
        {
            foreach (var record in records)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(record.Version, nameof(records));
                var exists = _schedules.TryGetValue(record.Id, out var stored);
                if (record.Version == 1 ? exists : !exists || stored!.Version != record.Version - 1)
                    conflicts.Add(record.Id);
                else
                    _schedules[record.Id] = record;
            }
        }
        return Task.FromResult<IReadOnlyList<string>>(conflicts);
    }

    public Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_schedules.TryGetValue(id, out var record) ? new StoredSchedule(record.Id, record.Version, record.Data) : null);

    public Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default)
    {
        using (LockAll())
            return Task.FromResult(_schedules.TryGetValue(id, out var stored) && stored.Version == version && _schedules.TryRemove(id, out _));
    }

    public Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StoredSchedule>>([.. _schedules.Values
            .Where(r => after is null || string.CompareOrdinal(r.Id, after) > 0)
            .OrderBy(r => r.Id, StringComparer.Ordinal)
            .Take(limit)
            .Select(r => new StoredSchedule(r.Id, r.Version, r.Data))]);

    public Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WorkflowId>>([.. _workflows.Values
            .Where(w => w.Watch && w.Bucket == bucket && w.UpdatedAt < updatedBefore)
            .OrderBy(w => w.UpdatedAt).ThenBy(w => w.Id.ToString(), StringComparer.Ordinal)
            .Take(limit)
            .Select(w => w.Id)]);

    private static JobSummary ToSummary(JobRecord j) => new()
    {
        Id = j.Id,
        State = j.State,
        Handler = j.Handler,
        Queue = j.Queue,
        Priority = j.Priority,
        Tenant = j.Tenant,
        Attempt = j.Attempt,
        CreatedAt = j.CreatedAt,
        UpdatedAt = j.UpdatedAt,
        NextAttemptAt = j.NotBefore,
    };

    public Task<bool> InsertKeyAsync(StoredApiKey key, CancellationToken cancellationToken = default) =>
        Task.FromResult(_keys.TryAdd(key.Info.Id, key));

    public Task<StoredApiKey?> ReadKeyAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_keys.GetValueOrDefault(id));

    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ApiKeyInfo>>([.. _keys.Values.Select(k => k.Info).OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal)]);

    public Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        using (LockAll())
        {
            if (!_keys.TryGetValue(id, out var key) || key.Info.RevokedAt is not null)
                return Task.FromResult(false);
            _keys[id] = key with { Info = key.Info with { RevokedAt = at } };
            return Task.FromResult(true);
        }
    }

    public Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        lock (_audit)
            _audit.Add(entry with { Sequence = _audit.Count + 1 });
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? before, int limit, CancellationToken cancellationToken = default)
    {
        lock (_audit)
            return Task.FromResult<IReadOnlyList<AuditEntry>>([.. _audit.Where(e => before is null || e.Sequence < before).Reverse().Take(limit)]);
    }

    public Task<bool> InsertDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default) =>
        Task.FromResult(_deliveries.TryAdd(delivery.Id, delivery));

    public Task UpdateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        if (_deliveries.ContainsKey(delivery.Id))
            _deliveries[delivery.Id] = delivery;
        return Task.CompletedTask;
    }

    public Task<WebhookDelivery?> ReadDeliveryAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_deliveries.TryGetValue(id, out var delivery) ? delivery : null);

    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WebhookDelivery>>([.. _deliveries.Values
            .Where(d => (filter.State is null || d.State == filter.State) && (filter.SubjectId is null || d.SubjectId == filter.SubjectId)
                && (filter.Tenant is null || d.Tenant == filter.Tenant) && (filter.Before is null || d.CreatedAt < filter.Before))
            .OrderByDescending(d => d.CreatedAt).ThenBy(d => d.Id, StringComparer.Ordinal).Take(filter.Limit)]);
}
