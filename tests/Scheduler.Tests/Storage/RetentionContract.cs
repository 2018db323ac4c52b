using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scheduler.Hosting.Storage;
using Scheduler.Retention;
using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

/// <summary>Retention on SQLite (a fresh file per test).</summary>
public sealed class SqliteRetentionTests : RetentionContract
{
    private readonly TempDirectory _dir = new();
    private DbDataSource? _dataSource;

    protected override async Task<ISchedulerStore> CreateStoreAsync(string serviceId, CancellationToken cancellationToken)
    {
        if (_dataSource is null)
        {
            var cs = new SqliteConnectionStringBuilder { DataSource = _dir.File("jobs.db"), DefaultTimeout = 30 }.ToString();
            _dataSource = SqliteFactory.Instance.CreateDataSource(cs);
            await new SchemaMigrator().MigrateAsync(SchemaVendor.Sqlite, _dataSource, cancellationToken).WaitAsync(cancellationToken);
        }
        return new SqliteJobStore(_dataSource, serviceId);
    }

    public override async Task DisposeAsync()
    {
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>Retention on the in-memory store.</summary>
public sealed class InMemoryRetentionTests : RetentionContract
{
    private readonly InMemoryJobStore _shared = new();
    private readonly Dictionary<string, InMemoryJobStore> _stores = [];

    // The in-memory store holds one service: the second service of a test gets a store of its own.
    protected override Task<ISchedulerStore> CreateStoreAsync(string serviceId, CancellationToken cancellationToken)
    {
        if (!_stores.TryGetValue(serviceId, out var store))
            _stores[serviceId] = store = _stores.Count == 0 ? _shared : new InMemoryJobStore();
        return Task.FromResult<ISchedulerStore>(store);
    }
}

/// <summary>
/// Retention, provider-neutral: finished jobs of each state go after their retention with their history and logs,
/// newer and open ones stay, dead letters stay unless a retention is set, a workflow's jobs go with it and only with it,
/// and batches hold at most the batch size, oldest first.
/// </summary>
public abstract class RetentionContract : IAsyncLifetime
{
    private readonly string _service = "retention-" + Guid.NewGuid().ToString("N");
    private ISchedulerStore _store = null!;

    // Rows are dated relative to now, days apart, so the pruner's clock (the system's) puts them plainly on one side.
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    protected abstract Task<ISchedulerStore> CreateStoreAsync(string serviceId, CancellationToken cancellationToken);

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(60);
        _store = await CreateStoreAsync(_service, cts.Token);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static RetentionPruner Pruner(IRetentionStore store, Action<RetentionOptions>? configure = null)
    {
        var options = new SchedulerOptions();
        configure?.Invoke(options.Retention);
        return new RetentionPruner(store, Options.Create(options), TimeProvider.System, NullLogger<RetentionPruner>.Instance);
    }

    /// <summary>Writes a job that ended in <paramref name="state"/> <paramref name="age"/> ago, with history and a log line.</summary>
    private async Task<JobId> FinishedAsync(JobState state, TimeSpan age, WorkflowId? workflow = null, ISchedulerStore? store = null,
        CancellationToken cancellationToken = default)
    {
        store ??= _store;
        var id = JobId.New();
        var created = Now - age - TimeSpan.FromMinutes(5);
        JobRecord Row(JobState s, int version, DateTimeOffset at) =>
            new(id, "default", 0, 50, "t1", "noop", s, s == JobState.Queued ? 0 : 1, created, at) { Version = version, Data = [(byte)version], Workflow = workflow };
        Assert.Empty(await store.SaveAsync([Row(JobState.Queued, 1, created)], cancellationToken).WaitAsync(cancellationToken));
        if (state != JobState.Queued)
        {
            Assert.Empty(await store.SaveAsync([Row(JobState.Running, 2, created.AddMinutes(1))], cancellationToken).WaitAsync(cancellationToken));
            if (state != JobState.Running)
                Assert.Empty(await store.SaveAsync([Row(state, 3, Now - age)], cancellationToken).WaitAsync(cancellationToken));
        }
        await store.AppendLogAsync([new JobLogRecord(id, 1, LogStream.StdOut, created, "hello")], cancellationToken).WaitAsync(cancellationToken);
        return id;
    }

    private async Task<bool> ExistsAsync(JobId id, CancellationToken cancellationToken)
    {
        var row = (await _store.ReadStatesAsync([id], cancellationToken).WaitAsync(cancellationToken)).ContainsKey(id);
        var history = (await _store.ReadHistoryAsync(id, cancellationToken).WaitAsync(cancellationToken)).Count > 0;
        var log = (await _store.ReadLogAsync(id, 0, 10, cancellationToken).WaitAsync(cancellationToken)).Count > 0;
        // A job is kept or deleted whole.
        Assert.True(row == history && history == log, $"job {id}: row {row}, history {history}, log {log}");
        return row;
    }

    private async Task<WorkflowId> WorkflowAsync(WorkflowState state, TimeSpan age, CancellationToken cancellationToken)
    {
        var id = WorkflowId.New();
        Assert.Empty(await _store.SaveWorkflowsAsync([new WorkflowRecord(id, 1, WorkflowState.Running, false, Now - age - TimeSpan.FromMinutes(5), [1])], cancellationToken)
            .WaitAsync(cancellationToken));
        if (state != WorkflowState.Running)
            Assert.Empty(await _store.SaveWorkflowsAsync([new WorkflowRecord(id, 2, state, false, Now - age, [2])], cancellationToken).WaitAsync(cancellationToken));
        return id;
    }

    private async Task<bool> ExistsAsync(WorkflowId id, CancellationToken cancellationToken) =>
        (await _store.ReadWorkflowsAsync([id], cancellationToken).WaitAsync(cancellationToken)).ContainsKey(id);

    [Fact]
    public async Task Run_DeletesFinishedJobsPastTheirStatesRetention_WithHistoryAndLogs_AndKeepsNewerOpenAndDeadLetters()
    {
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var oldSucceeded = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(8), cancellationToken: ct);
        var oldCancelled = await FinishedAsync(JobState.Cancelled, TimeSpan.FromDays(8), cancellationToken: ct);
        var newSucceeded = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(6), cancellationToken: ct);
        var newCancelled = await FinishedAsync(JobState.Cancelled, TimeSpan.FromDays(6), cancellationToken: ct);
        var oldFailed = await FinishedAsync(JobState.Failed, TimeSpan.FromDays(400), cancellationToken: ct);
        var oldQueued = await FinishedAsync(JobState.Queued, TimeSpan.FromDays(400), cancellationToken: ct);
        var oldRunning = await FinishedAsync(JobState.Running, TimeSpan.FromDays(400), cancellationToken: ct);
        var otherStore = await CreateStoreAsync("retention-other-" + Guid.NewGuid().ToString("N"), ct);
        var otherService = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(30), store: otherStore, cancellationToken: ct);

        var run = await Pruner(_store).RunAsync(ct).WaitAsync(ct);

        Assert.Equal((1, 1, 0), (run.Succeeded, run.Cancelled, run.Failed));
        Assert.False(await ExistsAsync(oldSucceeded, ct));
        Assert.False(await ExistsAsync(oldCancelled, ct));
        foreach (var kept in new[] { newSucceeded, newCancelled, oldFailed, oldQueued, oldRunning })
            Assert.True(await ExistsAsync(kept, ct));
        Assert.True((await otherStore.ReadStatesAsync([otherService], ct).WaitAsync(ct)).ContainsKey(otherService));

        // Dead letters go once they have a retention of their own.
        var withFailed = await Pruner(_store, o => o.Failed = TimeSpan.FromDays(30)).RunAsync(ct).WaitAsync(ct);

        Assert.Equal((0, 0, 1), (withFailed.Succeeded, withFailed.Cancelled, withFailed.Failed));
        Assert.False(await ExistsAsync(oldFailed, ct));
        foreach (var kept in new[] { newSucceeded, newCancelled, oldQueued, oldRunning })
            Assert.True(await ExistsAsync(kept, ct));
        var counts = await _store.CountByStateAsync(ct).WaitAsync(ct);
        Assert.Equal(2, counts.GetValueOrDefault(JobState.Succeeded) + counts.GetValueOrDefault(JobState.Cancelled));
    }

    [Fact]
    public async Task AWriteOverAPrunedRow_IsRefused_AndCreatesNothing()
    {
        // A job grain that still held a pruned job (a requeue racing its batch) writes its next version: refused.
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var id = await FinishedAsync(JobState.Failed, TimeSpan.FromDays(40), cancellationToken: ct);
        Assert.Equal(1, await _store.PruneJobsAsync(JobState.Failed, Now - TimeSpan.FromDays(30), 10, ct).WaitAsync(ct));

        var requeue = new JobRecord(id, "default", 0, 50, "t1", "noop", JobState.Queued, 1, Now, Now) { Version = 4, Data = [4] };
        var conflicts = await _store.SaveAsync([requeue], ct).WaitAsync(ct);

        Assert.Equal([id], conflicts);
        Assert.False(await ExistsAsync(id, ct));
    }

    [Fact]
    public async Task Run_KeepsAWorkflowsJobsWhileTheWorkflowIsKept_AndDeletesThemWithIt()
    {
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var old = await WorkflowAsync(WorkflowState.Succeeded, TimeSpan.FromDays(8), ct);
        var oldJobs = new[] { await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(9), old, cancellationToken: ct), await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(8), old, cancellationToken: ct) };
        var recent = await WorkflowAsync(WorkflowState.Succeeded, TimeSpan.FromDays(1), ct);
        var recentJob = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(20), recent, cancellationToken: ct);
        var running = await WorkflowAsync(WorkflowState.Running, TimeSpan.FromDays(20), ct);
        var runningJob = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(20), running, cancellationToken: ct);
        // A finished workflow that still has an open job (a rerun under way) is not deleted either.
        var rerun = await WorkflowAsync(WorkflowState.Failed, TimeSpan.FromDays(20), ct);
        var rerunJob = await FinishedAsync(JobState.Queued, TimeSpan.FromDays(20), rerun, cancellationToken: ct);
        var failed = await WorkflowAsync(WorkflowState.Failed, TimeSpan.FromDays(20), ct);
        var failedJob = await FinishedAsync(JobState.Failed, TimeSpan.FromDays(20), failed, cancellationToken: ct);

        var run = await Pruner(_store, o => o.Failed = TimeSpan.FromDays(10)).RunAsync(ct).WaitAsync(ct);

        Assert.Equal((2, 3), (run.Workflows, run.WorkflowJobs));
        Assert.Equal((0, 0, 0), (run.Succeeded, run.Cancelled, run.Failed));
        Assert.False(await ExistsAsync(old, ct));
        Assert.False(await ExistsAsync(failed, ct));
        foreach (var job in oldJobs.Append(failedJob))
            Assert.False(await ExistsAsync(job, ct));
        foreach (var workflow in new[] { recent, running, rerun })
            Assert.True(await ExistsAsync(workflow, ct));
        foreach (var job in new[] { recentJob, runningJob, rerunJob })
            Assert.True(await ExistsAsync(job, ct));
    }

    [Fact]
    public async Task PruneJobsAsync_DeletesAtMostTheLimit_OldestFirst_AndARunTakesAllInBatches()
    {
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var jobs = new List<JobId>();
        for (var day = 20; day > 13; day--)
            jobs.Add(await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(day), cancellationToken: ct));

        Assert.Equal(3, await _store.PruneJobsAsync(JobState.Succeeded, Now - TimeSpan.FromDays(7), 3, ct).WaitAsync(ct));
        foreach (var (job, i) in jobs.Select((j, i) => (j, i)))
            Assert.Equal(i >= 3, await ExistsAsync(job, ct));
        Assert.Equal(0, await _store.PruneJobsAsync(JobState.Cancelled, Now, 3, ct).WaitAsync(ct));

        var run = await Pruner(_store, o => { o.BatchSize = 2; o.BatchPause = TimeSpan.Zero; }).RunAsync(ct).WaitAsync(ct);

        Assert.Equal(4, run.Succeeded);
        // Succeeded: 2 + 2 + 0; then one batch each for succeeded workflows, cancelled jobs and cancelled workflows.
        Assert.Equal(6, run.Batches);
        foreach (var job in jobs)
            Assert.False(await ExistsAsync(job, ct));
    }

    [Fact]
    public async Task PruneWorkflowsAsync_DeletesAtMostTheLimit_OldestFirst()
    {
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var workflows = new List<WorkflowId>();
        for (var day = 20; day > 16; day--)
            workflows.Add(await WorkflowAsync(WorkflowState.Cancelled, TimeSpan.FromDays(day), ct));

        var pruned = await _store.PruneWorkflowsAsync(WorkflowState.Cancelled, Now - TimeSpan.FromDays(7), 3, ct).WaitAsync(ct);

        Assert.Equal(new PrunedWorkflows(3, 0), pruned);
        var exist = await Task.WhenAll(workflows.Select(w => ExistsAsync(w, ct)));
        Assert.Equal([false, false, false, true], exist);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.PruneWorkflowsAsync(WorkflowState.Running, Now, 3, ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.PruneJobsAsync(JobState.Queued, Now, 3, ct));
    }

    [Fact]
    public async Task Run_DeletesNothing_WhenDisabled()
    {
        using var cts = Bounded.Timeout(60);
        var ct = cts.Token;
        var old = await FinishedAsync(JobState.Succeeded, TimeSpan.FromDays(100), cancellationToken: ct);

        var run = await Pruner(_store, o => o.Enabled = false).RunAsync(ct).WaitAsync(ct);

        Assert.Equal(0, run.Jobs);
        Assert.True(await ExistsAsync(old, ct));
    }
}
