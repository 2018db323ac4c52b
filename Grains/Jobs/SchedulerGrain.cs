using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Scheduler.Execution;
using Scheduler.Storage;

namespace Scheduler.Jobs;

/// <summary>
/// Entry point for clients on every silo: validates requests and hands them to the <see cref="JobSubmitter"/>.
/// Reentrant: it holds no mutable state, and each submit mostly waits for storage, so many run at once.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class SchedulerGrain(
    IOptions<SchedulerOptions> options,
    JobHandlerRegistry handlers,
    IJobStore store,
    IJobLogStore logs,
    IDeadLetterStore deadLetters,
    JobSubmitter submitter,
    Protection.Backlog backlog,
    ILocalSiloDetails silo,
    IWorkflowStore workflows,
    Orleans.Serialization.Serializer serializer) : Grain, ISchedulerGrain
{
    private readonly SchedulerOptions _options = options.Value;

    public async Task<SubmitBatchResult> SubmitMany(ImmutableArray<JobRequest> requests)
    {
        if (requests.IsDefaultOrEmpty)
            return new SubmitBatchResult([], []);

        var errors = ImmutableArray.CreateBuilder<RequestError>();
        var identified = new JobRequest[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            if (Check(requests[i]) is { } problem)
                errors.Add(new RequestError(i, problem.Code, problem.Message));
            else if (RequestValidation.ResolveId(requests[i]) is var id && requests[i].Id == id)
                identified[i] = requests[i];
            else
                identified[i] = requests[i] with { Id = id };
        }
        if (errors.Count > 0)
            return new SubmitBatchResult([], errors.ToImmutable());
        if (await backlog.AdmitAsync(identified) is { } overloaded)
            return new SubmitBatchResult([], [overloaded]);
        return new SubmitBatchResult([.. await submitter.SubmitAsync(identified, order: null, mayBeNew: true)], []);
    }

    public async Task<ImmutableArray<JobSummary>> List(JobFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Limit is < 1 or > JobFilter.MaxLimit)
            throw new ArgumentOutOfRangeException(nameof(filter), $"limit {filter.Limit} is out of range: use 1 to {JobFilter.MaxLimit}");
        if (filter.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(filter));
        if (filter.State != JobState.Running)
            return [.. await store.ListAsync(filter)];
        // At most the cluster's slots: the silos name the jobs they run, and the store reads those rows by key with
        // the listing's other filters, order and paging (no index holds state; see IJobStore.ListRunningAsync).
        object?[] answers;
        try
        {
            answers = await GrainFactory.GetGrain<IManagementGrain>(0)
                .SendControlCommandToProvider<RunningJobsControllable>(RunningJobsControllable.Name, 0, null).WaitAsync(SnapshotTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            // A silo that does not answer (going down, overloaded): the same rows from the table, slower but complete.
            return [.. await store.ListAsync(filter)];
        }
        var running = new HashSet<JobId>();
        foreach (var ids in answers.OfType<JobId[]>())
            running.UnionWith(ids);
        return [.. await store.ListRunningAsync(filter, running)];
    }

    public async Task<ImmutableArray<JobTransition>> GetHistory(JobId id) => [.. await store.ReadHistoryAsync(id)];

    public async Task<ImmutableArray<JobLogLine>> GetLog(JobId id, long afterSequence, int max) =>
        [.. await logs.ReadLogAsync(id, afterSequence, Math.Clamp(max, 1, 10_000))];

    public async Task<QueueStats> GetStats() =>
        new() { ByState = (await store.CountByStateAsync()).ToImmutableDictionary() };

    public async Task<QueueOverview> GetQueues()
    {
        var queues = await Task.WhenAll(_options.Queues.Select(async queue =>
        {
            var shards = await Task.WhenAll(Enumerable.Range(0, _options.ShardsPerQueue).Select(i => SnapshotAsync(SchedulerOptions.ShardKey(queue, i))));
            return Queues.QueueOverviews.Compose(queue, shards, _options.Ordering.For(queue));
        }));
        return new QueueOverview { Queues = [.. queues], FairShare = _options.Ordering.FairShare };
    }

    /// <summary>A shard's snapshot; null when it does not answer in time (the overview counts it as unanswered rather than failing).</summary>
    private async Task<ShardSnapshot?> SnapshotAsync(string shard)
    {
        try
        {
            return await GrainFactory.GetGrain<IQueueShardGrain>(shard).Snapshot().WaitAsync(SnapshotTimeout);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return null;
        }
    }

    private static readonly TimeSpan SnapshotTimeout = TimeSpan.FromSeconds(5);

    public Task<SiloDescription> Describe() =>
        Task.FromResult(new SiloDescription(silo.Name, [.. handlers.Names], [.. _options.Queues], _options.MaxPayloadBytes));

    public async Task<ImmutableArray<DeadLetter>> ListDeadLetters(DeadLetterFilter filter)
    {
        CheckFilter(filter);
        return [.. await deadLetters.ListFailedAsync(filter)];
    }

    public async Task<ImmutableArray<RequeueResult>> Requeue(ImmutableArray<JobId> ids, int? attempts)
    {
        CheckIds(ids);
        if (attempts is < 1 or > JobLimits.MaxAllowedAttempts)
            throw new ArgumentOutOfRangeException(nameof(attempts), attempts, $"attempts {attempts} is out of range: use 1 to {JobLimits.MaxAllowedAttempts}");
        var outcomes = await Task.WhenAll(ids.Select(id => GrainFactory.Reference<IJobGrain>(id.Value).Requeue(attempts)));
        return [.. ids.Select((id, i) => new RequeueResult(id, outcomes[i]))];
    }

    public async Task<ImmutableArray<PurgeResult>> Purge(ImmutableArray<JobId> ids)
    {
        CheckIds(ids);
        var outcomes = await Task.WhenAll(ids.Select(id => GrainFactory.Reference<IJobGrain>(id.Value).Purge()));
        return [.. ids.Select((id, i) => new PurgeResult(id, outcomes[i]))];
    }

    public async Task<int> PurgeMatching(DeadLetterFilter filter)
    {
        CheckFilter(filter);
        // One bounded batch per call (each purge is a write), so a call stays well inside the response timeout.
        var batch = await deadLetters.ListFailedAsync(filter with { Limit = Math.Min(filter.Limit, MaxPurgeBatch) });
        var outcomes = await Task.WhenAll(batch.Select(d => GrainFactory.Reference<IJobGrain>(d.Id.Value).Purge()));
        return outcomes.Count(o => o == PurgeOutcome.Purged);
    }

    public async Task<WorkflowPage> ListWorkflows(WorkflowFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(filter));
        // Tenant and name are inside the stored state, not columns: rows are read newest first in batches and
        // filtered here, at most MaxScan of them per page, so a page may come back short with a place to read on.
        var items = ImmutableArray.CreateBuilder<WorkflowSummary>();
        var after = filter.After;
        var scanned = 0;
        var filtered = filter.Tenant is not null || filter.Name is not null;
        while (true)
        {
            var batchSize = filtered ? Math.Min(500, WorkflowFilter.MaxScan - scanned) : filter.Limit - items.Count;
            var rows = await workflows.ListWorkflowsAsync(filter.State, after, batchSize);
            foreach (var row in rows)
            {
                scanned++;
                after = row.Id;
                var state = serializer.Deserialize<Workflows.WorkflowGrainState>(row.Data)!;
                if ((filter.Tenant is null || state.Tenant == filter.Tenant)
                    && (filter.Name is null || (state.Name?.Contains(filter.Name, StringComparison.OrdinalIgnoreCase) ?? false)))
                {
                    items.Add(Summary(row, state));
                    if (items.Count == filter.Limit)
                        return new WorkflowPage(items.ToImmutable(), row.Id);
                }
            }
            if (rows.Count < batchSize)
                return new WorkflowPage(items.ToImmutable(), null);
            if (scanned >= WorkflowFilter.MaxScan)
                return new WorkflowPage(items.ToImmutable(), after);
        }
    }

    private static WorkflowSummary Summary(StoredWorkflowRow row, Workflows.WorkflowGrainState state) => new()
    {
        Id = row.Id,
        Name = state.Name,
        State = row.State,
        Tenant = state.Tenant,
        Priority = state.Priority,
        CreatedAt = state.CreatedAt,
        FinishedAt = state.FinishedAt,
        Jobs = state.Nodes.Count,
        Counts = state.Nodes.GroupBy(n => n.State).ToImmutableDictionary(g => g.Key, g => g.Count()),
    };

    public async Task<ImmutableArray<SiloSlots>> ListSilos()
    {
        // One call to each active silo's control target, which asks that silo's worker pool (Workers.SlotsControllable).
        var answers = await GrainFactory.GetGrain<IManagementGrain>(0)
            .SendControlCommandToProvider<Workers.SlotsControllable>(Workers.SlotsControllable.Name, 0, null);
        return [.. answers.OfType<SiloSlots>().OrderBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Silo, StringComparer.Ordinal)];
    }

    /// <summary>Most jobs one <see cref="PurgeMatching"/> call purges.</summary>
    public const int MaxPurgeBatch = 100;

    private static void CheckFilter(DeadLetterFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Problem() is { } problem)
            throw new ArgumentException(problem, nameof(filter));
    }

    private static void CheckIds(ImmutableArray<JobId> ids)
    {
        if (ids.IsDefaultOrEmpty)
            throw new ArgumentException("give at least one job id", nameof(ids));
        if (ids.Length > DeadLetters.MaxIdsPerCall)
            throw new ArgumentException($"{ids.Length} job ids in one call; the limit is {DeadLetters.MaxIdsPerCall}", nameof(ids));
        if (ids.Any(id => id.Value == Guid.Empty))
            throw new ArgumentException("job id must not be the empty GUID", nameof(ids));
        if (ids.Distinct().Count() != ids.Length)
            throw new ArgumentException("a job id is given more than once", nameof(ids));
    }

    private (SchedulerErrorCode Code, string Message)? Check(JobRequest request)
    {
        if (RequestValidation.Check(request, _options.MaxPayloadBytes) is { } problem)
            return problem;
        if (!handlers.Contains(request.Handler))
            return (SchedulerErrorCode.UnknownHandler, $"unknown handler '{request.Handler}'; the silos serve: {string.Join(", ", handlers.Names)}");
        if (!_options.Queues.Contains(request.Queue))
            return (SchedulerErrorCode.UnknownQueue, $"unknown queue '{request.Queue}'; the silos serve: {string.Join(", ", _options.Queues)}");
        return null;
    }
}
