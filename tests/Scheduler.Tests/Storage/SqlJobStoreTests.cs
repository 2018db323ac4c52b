using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Scheduler.Hosting.Storage;
using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

/// <summary>SqliteJobStore and GroupCommitJobStore on the embedded SQLite schema (a fresh file per test).</summary>
public sealed class SqlJobStoreTests : SqlJobStoreContract
{
    private readonly TempDirectory _dir = new();

    protected override async Task<DbDataSource> CreateMigratedDataSourceAsync(CancellationToken cancellationToken)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = _dir.File("jobs.db"), DefaultTimeout = 30 }.ToString();
        var dataSource = SqliteFactory.Instance.CreateDataSource(cs);
        await new SchemaMigrator().MigrateAsync(SchemaVendor.Sqlite, dataSource, cancellationToken).WaitAsync(cancellationToken);
        return dataSource;
    }

    protected override Task CleanUpAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    protected override SqlJobStore CreateStore(DbDataSource dataSource, string serviceId) => new SqliteJobStore(dataSource, serviceId);
}

/// <summary>
/// The job store scenarios, provider-neutral: each database supplies a migrated data source, and every test
/// instance works under service ids of its own (<see cref="ServiceA"/>, <see cref="ServiceB"/>), so a database
/// may be shared by the tests of a class.
/// </summary>
public abstract partial class SqlJobStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private DbDataSource _dataSource = null!;
    private SqlJobStore _store = null!;

    protected string ServiceA { get; } = "svc-a-" + Guid.NewGuid().ToString("N");

    protected string ServiceB { get; } = "svc-b-" + Guid.NewGuid().ToString("N");

    /// <summary>A data source on a database the schema has been migrated in.</summary>
    protected abstract Task<DbDataSource> CreateMigratedDataSourceAsync(CancellationToken cancellationToken);

    protected abstract Task CleanUpAsync();

    /// <summary>The store of the database under test's dialect.</summary>
    protected abstract SqlJobStore CreateStore(DbDataSource dataSource, string serviceId);

    private SqlJobStore Store(string serviceId) => CreateStore(_dataSource, serviceId);

    public async Task InitializeAsync()
    {
        using var cts = Bounded.Timeout(60);
        _dataSource = await CreateMigratedDataSourceAsync(cts.Token);
        _store = Store(ServiceA);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
            await _dataSource.DisposeAsync();
        await CleanUpAsync();
    }

    [Fact]
    public async Task SaveAsync_RecordsEachTransitionInTheHistory_InOrder()
    {
        using var cts = Bounded.Timeout(60);
        var id = JobId.New();
        await _store.SaveAsync([Job(id, created: T0)], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Job(id, JobState.Running, attempt: 1, updated: T0.AddSeconds(1)) with { Silo = "silo-a" }], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([
            Job(id, JobState.Queued, attempt: 1, updated: T0.AddSeconds(2)) with { Silo = null, Reason = "attempt 1 of 3: boom" },
            Job(id, JobState.Running, attempt: 2, updated: T0.AddSeconds(3)) with { Silo = "silo-b" },
        ], cts.Token).WaitAsync(cts.Token);

        var history = await _store.ReadHistoryAsync(id, cts.Token).WaitAsync(cts.Token);
        var other = await _store.ReadHistoryAsync(JobId.New(), cts.Token).WaitAsync(cts.Token);

        Assert.Equal([JobState.Queued, JobState.Running, JobState.Queued, JobState.Running], history.Select(t => t.State));
        Assert.Equal([0, 1, 1, 2], history.Select(t => t.Attempt));
        Assert.Equal([null, "silo-a", null, "silo-b"], history.Select(t => t.Silo));
        Assert.Equal("attempt 1 of 3: boom", history[2].Reason);
        Assert.Equal(T0.AddSeconds(3), history[3].Timestamp);
        Assert.Empty(other);
    }

    [Fact]
    public async Task ReadHistoryAsync_ReadsTheCreationFromTheJobRow_AndOnceWhereASiloBeforeVersion15StoredIt()
    {
        // From schema version 15 a job's first transition (Queued at its creation) is not stored: a row less per job.
        // What a user reads is the same: after a retry, a priority change, and for history an older silo wrote.
        using var cts = Bounded.Timeout(60);
        var job = JobId.New();
        var older = JobId.New();
        await _store.SaveAsync([Job(job, created: T0) with { Version = 1 }, Job(older, created: T0) with { Version = 1 }], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Job(job, updated: T0.AddSeconds(1)) with { Version = 2 }], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Job(job, JobState.Running, attempt: 1, updated: T0.AddSeconds(2)) with { Version = 3, Silo = "silo-a" }], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([
            Job(job, JobState.Queued, attempt: 1, updated: T0.AddSeconds(3)) with { Version = 4, Reason = "attempt 1 of 3: boom" },
            Job(job, JobState.Running, attempt: 2, updated: T0.AddSeconds(4)) with { Version = 5, Silo = "silo-b" },
            Job(job, JobState.Succeeded, attempt: 2, updated: T0.AddSeconds(5)) with { Version = 6, Silo = "silo-b" },
        ], cts.Token).WaitAsync(cts.Token);
        // The Queued transition as a silo of version 14 stored it, beside its row.
        await using (var insert = _dataSource.CreateCommand("""
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            VALUES (@service_id, @job_id, @ts, 1, 0, NULL, NULL)
            """))
        {
            AddValue(insert, "service_id", ServiceA);
            AddValue(insert, "job_id", older.ToString());
            AddValue(insert, "ts", T0.UtcTicks);
            await insert.ExecuteNonQueryAsync(cts.Token);
        }

        var history = await _store.ReadHistoryAsync(job, cts.Token).WaitAsync(cts.Token);
        var olderHistory = await _store.ReadHistoryAsync(older, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([JobState.Queued, JobState.Queued, JobState.Running, JobState.Queued, JobState.Running, JobState.Succeeded], history.Select(t => t.State));
        Assert.Equal([0, 1, 2, 3, 4, 5], history.Select(t => (int)(t.Timestamp - T0).TotalSeconds));
        Assert.Equal([0, 0, 1, 1, 2, 2], history.Select(t => t.Attempt));
        Assert.Equal([null, null, "silo-a", null, "silo-b", "silo-b"], history.Select(t => t.Silo));
        Assert.Equal([null, null, null, "attempt 1 of 3: boom", null, null], history.Select(t => t.Reason));
        Assert.Equal(new JobTransition { Timestamp = T0, State = JobState.Queued, Attempt = 0 }, Assert.Single(olderHistory));
        await using var count = _dataSource.CreateCommand("SELECT COUNT(*) FROM scheduler_job_history WHERE service_id = @service_id AND job_id = @job_id");
        AddValue(count, "service_id", ServiceA);
        AddValue(count, "job_id", job.ToString());
        Assert.Equal(5L, Convert.ToInt64(await count.ExecuteScalarAsync(cts.Token), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task SaveAsync_FirstWriteAtItsStart_RecordsTheQueuedTransitionBeforeIt_AloneAndInABatch()
    {
        // A workflow's job is first written when it starts: its history must still begin with Queued.
        using var cts = Bounded.Timeout(60);
        var alone = JobId.New();
        var batched = JobId.New();
        var plain = JobId.New();
        JobRecord Started(JobId id) =>
            Job(id, JobState.Running, attempt: 1, created: T0, updated: T0.AddSeconds(2)) with { Version = 1, Data = [1], Silo = "silo-a", QueuedAt = T0 };

        Assert.Empty(await _store.SaveAsync([Started(alone)], cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await _store.SaveAsync([Started(batched), Job(plain, created: T0) with { Version = 1, Data = [2] }], cts.Token).WaitAsync(cts.Token));

        foreach (var id in new[] { alone, batched })
        {
            var history = await _store.ReadHistoryAsync(id, cts.Token).WaitAsync(cts.Token);
            Assert.Equal([JobState.Queued, JobState.Running], history.Select(t => t.State));
            Assert.Equal([T0, T0.AddSeconds(2)], history.Select(t => t.Timestamp));
            Assert.Equal([0, 1], history.Select(t => t.Attempt));
            Assert.Equal([null, "silo-a"], history.Select(t => t.Silo));
        }
        Assert.Equal([JobState.Queued], (await _store.ReadHistoryAsync(plain, cts.Token).WaitAsync(cts.Token)).Select(t => t.State));
        var listed = await _store.ListAsync(new JobFilter { State = JobState.Running }, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(new[] { alone, batched }.Order(), listed.Select(j => j.Id).Order());
    }

    [Fact]
    public async Task ListFailedAsync_ReturnsFailedJobsWithTheirLastError_MostRecentlyFailedFirst()
    {
        using var cts = Bounded.Timeout(60);
        var fatal = JobId.New();
        var exhausted = JobId.New();
        var running = JobId.New();
        foreach (var (id, handler) in new[] { (fatal, "resize"), (exhausted, "command"), (running, "command") })
        {
            await _store.SaveAsync([Job(id, handler: handler, created: T0)], cts.Token).WaitAsync(cts.Token);
            await _store.SaveAsync([Job(id, JobState.Running, handler: handler, attempt: 1, updated: T0.AddSeconds(1))], cts.Token).WaitAsync(cts.Token);
        }
        await _store.SaveAsync([Job(fatal, JobState.Failed, handler: "resize", attempt: 1, updated: T0.AddMinutes(1)) with { Reason = "fatal in attempt 1: not a PNG" }], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Job(exhausted, JobState.Failed, attempt: 1, updated: T0.AddMinutes(2)) with { Reason = "attempt 1 of 1 (the last): exit 3" }], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveAsync([Job(JobId.New(), JobState.Failed, attempt: 1)], cts.Token).WaitAsync(cts.Token);

        var all = await _store.ListFailedAsync(new DeadLetterFilter(), cts.Token).WaitAsync(cts.Token);
        var older = await _store.ListFailedAsync(new DeadLetterFilter { FailedBefore = T0.AddSeconds(90) }, cts.Token).WaitAsync(cts.Token);
        var byHandler = await _store.ListFailedAsync(new DeadLetterFilter { Handler = "command" }, cts.Token).WaitAsync(cts.Token);
        var first = await _store.ListFailedAsync(new DeadLetterFilter { Limit = 1 }, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([exhausted, fatal], all.Select(d => d.Id));
        Assert.Equal([DeadLetterReason.AttemptsExhausted, DeadLetterReason.Fatal], all.Select(d => d.Reason));
        Assert.Equal(["attempt 1 of 1 (the last): exit 3", "fatal in attempt 1: not a PNG"], all.Select(d => d.LastError));
        Assert.Equal([T0.AddMinutes(2), T0.AddMinutes(1)], all.Select(d => d.FailedAt));
        Assert.All(all, d => Assert.Equal(T0, d.CreatedAt));
        Assert.Equal([fatal], older.Select(d => d.Id));
        Assert.Equal([exhausted], byHandler.Select(d => d.Id));
        Assert.Equal([exhausted], first.Select(d => d.Id));
    }

    [Fact]
    public async Task PurgeFailedAsync_DeletesFailedJobsWithHistoryAndLog_AndLeavesEveryOtherJob()
    {
        using var cts = Bounded.Timeout(60);
        var failed = JobId.New();
        var running = JobId.New();
        foreach (var id in new[] { failed, running })
        {
            await _store.SaveAsync([Job(id), Job(id, JobState.Running, attempt: 1, updated: T0.AddSeconds(1))], cts.Token).WaitAsync(cts.Token);
            await _store.AppendLogAsync([new JobLogRecord(id, 1, LogStream.StdOut, T0, "output")], cts.Token).WaitAsync(cts.Token);
        }
        await _store.SaveAsync([Job(failed, JobState.Failed, attempt: 1, updated: T0.AddSeconds(2))], cts.Token).WaitAsync(cts.Token);
        var otherService = Store(ServiceB);
        await otherService.SaveAsync([Job(failed, JobState.Failed, attempt: 1)], cts.Token).WaitAsync(cts.Token);

        var deleted = await new GroupCommitJobStore(_store).PurgeFailedAsync([failed, running, JobId.New()], cts.Token).WaitAsync(cts.Token);

        Assert.Equal(1, deleted);
        Assert.Equal([running], (await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token)).Select(j => j.Id));
        Assert.Empty(await _store.ReadHistoryAsync(failed, cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await _store.ReadLogAsync(failed, 0, 100, cts.Token).WaitAsync(cts.Token));
        Assert.Equal(2, (await _store.ReadHistoryAsync(running, cts.Token).WaitAsync(cts.Token)).Count);
        Assert.Single(await _store.ReadLogAsync(running, 0, 100, cts.Token).WaitAsync(cts.Token));
        Assert.Single(await otherService.ListFailedAsync(new DeadLetterFilter(), cts.Token).WaitAsync(cts.Token));
        Assert.Equal(0, await _store.PurgeFailedAsync([failed], cts.Token).WaitAsync(cts.Token));
    }

    private static JobRecord Job(JobId id, JobState state = JobState.Queued, string queue = "default", int shard = 0,
        int priority = 50, string tenant = "t1", string handler = "command", int attempt = 0,
        DateTimeOffset? created = null, DateTimeOffset? updated = null) =>
        new(id, queue, shard, priority, tenant, handler, state, attempt, created ?? T0, updated ?? created ?? T0);

    [Fact]
    public async Task SaveAsync_KeepsCreatedAtAndUpdatesTheRest_WhenJobIsSavedAgain()
    {
        using var cts = Bounded.Timeout();
        var id = JobId.New();
        await _store.SaveAsync([Job(id, created: T0)], cts.Token).WaitAsync(cts.Token);

        await _store.SaveAsync([Job(id, JobState.Running, attempt: 1, created: T0.AddHours(5), updated: T0.AddMinutes(1))], cts.Token).WaitAsync(cts.Token);

        var row = Assert.Single(await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token));
        Assert.Equal(id, row.Id);
        Assert.Equal(JobState.Running, row.State);
        Assert.Equal(1, row.Attempt);
        Assert.Equal(T0, row.CreatedAt);
        Assert.Equal(T0.AddMinutes(1), row.UpdatedAt);
    }

    [Fact]
    public async Task SaveAsync_LastRecordWins_WhenOneCallHoldsTheSameIdTwice()
    {
        using var cts = Bounded.Timeout();
        var id = JobId.New();

        await _store.SaveAsync([Job(id, JobState.Queued), Job(id, JobState.Running, attempt: 1), Job(JobId.New())], cts.Token).WaitAsync(cts.Token);

        var rows = await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token);
        Assert.Equal(2, rows.Count);
        Assert.Equal(JobState.Running, rows.Single(r => r.Id == id).State);
    }

    [Fact]
    public async Task SaveAsync_WritesNothing_WhenOneRecordOfTheCallFails()
    {
        using var cts = Bounded.Timeout();
        var bad = Job(JobId.New()) with { Queue = null! };

        await Assert.ThrowsAnyAsync<Exception>(() => _store.SaveAsync([Job(JobId.New()), bad], cts.Token).WaitAsync(cts.Token));

        Assert.Empty(await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task LoadOpenAsync_ReturnsOnlyQueuedAndRunningOfThatShard_InPriorityThenFifoOrder()
    {
        using var cts = Bounded.Timeout();
        var low = JobId.New();
        var highLate = JobId.New();
        var highEarly = JobId.New();
        var running = JobId.New();
        await _store.SaveAsync(
        [
            Job(low, priority: 10, created: T0),
            Job(highLate, priority: 90, created: T0.AddSeconds(2)),
            Job(highEarly, priority: 90, created: T0.AddSeconds(1)),
            Job(running, JobState.Running, priority: 50, created: T0),
            Job(JobId.New(), JobState.Succeeded),
            Job(JobId.New(), JobState.Failed),
            Job(JobId.New(), JobState.Cancelled),
            Job(JobId.New(), shard: 1),
            Job(JobId.New(), queue: "other"),
        ], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveAsync([Job(JobId.New())], cts.Token).WaitAsync(cts.Token);

        var open = await _store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([highEarly, highLate, running, low], open.Select(e => e.Id));
        Assert.Equal(T0.AddSeconds(1).UtcTicks, open[0].EnqueuedAtTicks);
        Assert.Equal(90, open[0].Priority);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task LoadOpenPageAsync_PagesThroughEveryOpenRowOnce_InPriorityThenCreationOrder_AcrossLevelsAndTies(int pageSize)
    {
        using var cts = Bounded.Timeout(60);
        // Three levels, several rows sharing a creation time (the id breaks the tie), and rows no page may return.
        var records = Enumerable.Range(0, 20).Select(i => Job(JobId.New(),
            state: i % 5 == 4 ? JobState.Running : JobState.Queued,
            priority: (i % 3) switch { 0 => 90, 1 => 50, _ => 10 },
            created: T0.AddSeconds(i / 4))).ToList();
        records.Add(Job(JobId.New(), JobState.Succeeded, priority: 90));
        records.Add(Job(JobId.New(), shard: 1, priority: 90));
        await _store.SaveAsync(records, cts.Token).WaitAsync(cts.Token);
        var expected = records.Take(20)
            .OrderByDescending(r => r.Priority).ThenBy(r => r.CreatedAt).ThenBy(r => r.Id.ToString(), StringComparer.Ordinal)
            .Select(r => r.Id).ToList();

        var paged = new List<JobId>();
        OpenRowPosition? after = null;
        var pages = 0;
        do
        {
            var page = await _store.LoadOpenPageAsync("default", 0, DateTimeOffset.MaxValue, after, pageSize, cts.Token).WaitAsync(cts.Token);
            Assert.True(page.Entries.Count <= pageSize);
            paged.AddRange(page.Entries.Select(e => e.Id));
            after = page.Next;
            Assert.True(++pages <= 21, "the pages never end");
        }
        while (after is not null);

        Assert.Equal(expected, paged);
    }

    [Fact]
    public async Task ListAsync_PagesWithFiltersAndCursor_EveryMatchingRowOnceNewestFirst_WhenRowsShareACreationTime()
    {
        using var cts = Bounded.Timeout(60);
        var records = Enumerable.Range(0, 30).Select(i => Job(JobId.New(),
            state: i % 4 == 0 ? JobState.Succeeded : JobState.Queued,
            tenant: i % 2 == 0 ? "alice" : "bob",
            handler: i % 3 == 0 ? "http" : "command",
            created: T0.AddSeconds(i / 3))).ToArray();
        await _store.SaveAsync(records, cts.Token).WaitAsync(cts.Token);

        foreach (var filter in new[]
        {
            new JobFilter { Limit = 4 },
            new JobFilter { State = JobState.Queued, Tenant = "bob", Limit = 2 },
            new JobFilter { Handler = "http", Limit = 3 },
            new JobFilter { State = JobState.Queued, Handler = "command", Tenant = "alice", Limit = 1 },
        })
        {
            var expected = records
                .Where(r => (filter.State is null || r.State == filter.State) && (filter.Tenant is null || r.Tenant == filter.Tenant)
                    && (filter.Handler is null || r.Handler == filter.Handler))
                .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id.ToString(), StringComparer.Ordinal)
                .Select(r => r.Id).ToList();
            var listed = new List<JobId>();
            JobListPosition? after = null;
            while (true)
            {
                var page = await _store.ListAsync(filter with { After = after }, cts.Token).WaitAsync(cts.Token);
                listed.AddRange(page.Select(r => r.Id));
                if (page.Count < filter.Limit)
                    break;
                after = new JobListPosition(page[^1].CreatedAt, page[^1].Id);
                Assert.True(listed.Count <= records.Length, "the pages never end");
            }

            Assert.Equal(expected, listed);
        }
    }

    [Fact]
    public async Task LoadOpenAsync_ReturnsTheQueueTimeAndSizeHintSaved_AloneInABatchAndOnUpdate()
    {
        // A workflow's jobs are queued by their workflow's creation and size hint; a shard that reloads must see both.
        using var cts = Bounded.Timeout(60);
        var workflowCreated = T0.AddMinutes(-10);
        var alone = JobId.New();
        var batched = JobId.New();
        var plain = JobId.New();
        var updatedAlone = JobId.New();
        var updatedBatched = JobId.New();
        JobRecord OfWorkflow(JobId id, long sizeHint, int version = 1) =>
            Job(id, attempt: version - 1) with { Version = version, Data = [1], QueuedAsOf = workflowCreated, SizeHint = sizeHint };

        await _store.SaveAsync([OfWorkflow(alone, 12)], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([
            OfWorkflow(batched, 3_000),
            Job(plain, created: T0.AddSeconds(1)) with { Version = 1, Data = [2] },
            Job(updatedAlone) with { Version = 1, Data = [3] },
            Job(updatedBatched) with { Version = 1, Data = [4] },
        ], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([OfWorkflow(updatedAlone, 40, version: 2)], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([OfWorkflow(updatedBatched, 7, version: 2), OfWorkflow(batched, 3_000, version: 2)], cts.Token).WaitAsync(cts.Token);

        var open = (await _store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token)).ToDictionary(e => e.Id);

        var queuedAs = workflowCreated.UtcTicks;
        // With the tenant, which the shard's fair share orders by.
        Assert.Equal(new QueueEntry(alone, 50, queuedAs, 12, "t1"), open[alone]);
        Assert.Equal(new QueueEntry(batched, 50, queuedAs, 3_000, "t1"), open[batched]);
        Assert.Equal(new QueueEntry(plain, 50, T0.AddSeconds(1).UtcTicks, 0, "t1"), open[plain]);
        Assert.Equal(new QueueEntry(updatedAlone, 50, queuedAs, 40, "t1"), open[updatedAlone]);
        Assert.Equal(new QueueEntry(updatedBatched, 50, queuedAs, 7, "t1"), open[updatedBatched]);
    }

    [Fact]
    public async Task LoadOpenAsync_QueuesARowWithoutQueueTimeOrSizeHint_ByItsCreationWithNoHint()
    {
        // Written as by a silo of schema version 5, which knows neither column (a rolling upgrade).
        using var cts = Bounded.Timeout(60);
        var id = JobId.New();
        await using (var command = _dataSource.CreateCommand($"""
            INSERT INTO scheduler_jobs
                (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt, created_at, updated_at, version, data)
            VALUES (@service_id, @job_id, 'default', 0, 60, 't1', 'command', {(int)JobState.Queued}, 0, @created_at, @created_at, 1, NULL)
            """))
        {
            AddValue(command, "service_id", ServiceA);
            AddValue(command, "job_id", id.ToString());
            AddValue(command, "created_at", T0.UtcTicks);
            await command.ExecuteNonQueryAsync(cts.Token).WaitAsync(cts.Token);
        }

        var open = await _store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(new QueueEntry(id, 60, T0.UtcTicks, SizeHint: 0, Tenant: "t1"), Assert.Single(open));
    }

    private static void AddValue(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    [Fact]
    public async Task ListAsync_FiltersAndOrdersNewestFirst_WhenFiltersAreGiven()
    {
        using var cts = Bounded.Timeout();
        var records = Enumerable.Range(0, 10).Select(i => Job(
            JobId.New(),
            state: i % 2 == 0 ? JobState.Queued : JobState.Succeeded,
            queue: i < 5 ? "q1" : "q2",
            tenant: i % 3 == 0 ? "alice" : "bob",
            handler: i == 9 ? "http" : "command",
            created: T0.AddMinutes(i))).ToArray();
        await _store.SaveAsync(records, cts.Token).WaitAsync(cts.Token);

        var all = await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token);
        var queued = await _store.ListAsync(new JobFilter { State = JobState.Queued }, cts.Token).WaitAsync(cts.Token);
        var q2Bob = await _store.ListAsync(new JobFilter { Queue = "q2", Tenant = "bob" }, cts.Token).WaitAsync(cts.Token);
        var http = await _store.ListAsync(new JobFilter { Handler = "http" }, cts.Token).WaitAsync(cts.Token);
        var newestThree = await _store.ListAsync(new JobFilter { Limit = 3 }, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(records.Reverse().Select(r => r.Id), all.Select(r => r.Id));
        Assert.Equal([8, 6, 4, 2, 0], queued.Select(r => Array.FindIndex(records, x => x.Id == r.Id)));
        Assert.Equal([8, 7, 5], q2Bob.Select(r => Array.FindIndex(records, x => x.Id == r.Id)));
        Assert.Equal(records[9].Id, Assert.Single(http).Id);
        Assert.Equal([9, 8, 7], newestThree.Select(r => Array.FindIndex(records, x => x.Id == r.Id)));
        Assert.Equal("alice", all[0].Tenant);
    }

    [Fact]
    public async Task CountByStateAsync_CountsThisServiceOnly_WhenJobsAreInSeveralStates()
    {
        using var cts = Bounded.Timeout();
        await _store.SaveAsync([Job(JobId.New()), Job(JobId.New()), Job(JobId.New(), JobState.Running), Job(JobId.New(), JobState.Failed)], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveAsync([Job(JobId.New())], cts.Token).WaitAsync(cts.Token);

        var counts = await _store.CountByStateAsync(cts.Token).WaitAsync(cts.Token);

        Assert.Equal(3, counts.Count);
        Assert.Equal(2, counts[JobState.Queued]);
        Assert.Equal(1, counts[JobState.Running]);
        Assert.Equal(1, counts[JobState.Failed]);
    }

    [Fact]
    public async Task CountQueuedAsync_CountsQueuedJobsPerQueueAndTenantOfThisService()
    {
        using var cts = Bounded.Timeout();
        await _store.SaveAsync(
        [
            Job(JobId.New(), queue: "a", tenant: "x"), Job(JobId.New(), queue: "a", tenant: "x"), Job(JobId.New(), queue: "a", tenant: "y"),
            Job(JobId.New(), queue: "b", tenant: "x"), Job(JobId.New(), JobState.Running, queue: "a", tenant: "x"),
            Job(JobId.New(), JobState.Succeeded, queue: "b", tenant: "y"),
        ], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveAsync([Job(JobId.New(), queue: "a", tenant: "x")], cts.Token).WaitAsync(cts.Token);

        var counts = await _store.CountQueuedAsync(cts.Token).WaitAsync(cts.Token);

        Assert.Equal(["a/x=2", "a/y=1", "b/x=1"], counts.Select(c => $"{c.Queue}/{c.Tenant}={c.Count}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ReadLogAsync_ReturnsLinesInOrderWithIncreasingSequence_AfterAppends()
    {
        using var cts = Bounded.Timeout();
        var id = JobId.New();
        var other = JobId.New();
        await _store.AppendLogAsync(
        [
            new JobLogRecord(id, 1, LogStream.StdOut, T0, "one"),
            new JobLogRecord(other, 1, LogStream.StdOut, T0, "elsewhere"),
            new JobLogRecord(id, 1, LogStream.StdErr, T0.AddSeconds(1), "two"),
        ], cts.Token).WaitAsync(cts.Token);
        await _store.AppendLogAsync([new JobLogRecord(id, 2, LogStream.System, T0.AddSeconds(2), "three")], cts.Token).WaitAsync(cts.Token);

        var all = await _store.ReadLogAsync(id, 0, 100, cts.Token).WaitAsync(cts.Token);
        var afterFirst = await _store.ReadLogAsync(id, all[0].Sequence, 1, cts.Token).WaitAsync(cts.Token);

        Assert.Equal(["one", "two", "three"], all.Select(l => l.Text));
        Assert.True(all[0].Sequence < all[1].Sequence && all[1].Sequence < all[2].Sequence);
        Assert.Equal([LogStream.StdOut, LogStream.StdErr, LogStream.System], all.Select(l => l.Stream));
        Assert.Equal([1, 1, 2], all.Select(l => l.Attempt));
        Assert.Equal(T0.AddSeconds(2), all[2].Timestamp);
        Assert.Equal("two", Assert.Single(afterFirst).Text);
        Assert.Empty(await Store(ServiceB).ReadLogAsync(id, 0, 100, cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task SaveAsync_WritesStateOnlyOverTheVersionBefore_AndReportsTheOthersAsConflicts()
    {
        using var cts = Bounded.Timeout(60);
        var id = JobId.New();
        byte[] first = [1, 2, 3], second = [4, 5];

        Assert.Empty(await _store.SaveAsync([Job(id) with { Version = 1, Data = first }], cts.Token).WaitAsync(cts.Token));
        // A second creator, a stale writer and a writer that skips a version are all refused, and change nothing.
        var refused = await _store.SaveAsync([
            Job(id, JobState.Running, attempt: 1) with { Version = 1, Data = [9] },
        ], cts.Token).WaitAsync(cts.Token);
        Assert.Equal([id], refused);
        Assert.Equal([id], await _store.SaveAsync([Job(id, JobState.Running, attempt: 1) with { Version = 3, Data = [9] }], cts.Token).WaitAsync(cts.Token));
        var stored = (await _store.ReadStatesAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        Assert.Equal(1, stored.Version);
        Assert.Equal(first, stored.Data);

        Assert.Empty(await _store.SaveAsync([Job(id, JobState.Running, attempt: 1) with { Version = 2, Data = second }], cts.Token).WaitAsync(cts.Token));
        stored = (await _store.ReadStatesAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        Assert.Equal(2, stored.Version);
        Assert.Equal(second, stored.Data);
        // Only the writes that landed are in the history, and in the row.
        Assert.Equal([JobState.Queued, JobState.Running], (await _store.ReadHistoryAsync(id, cts.Token).WaitAsync(cts.Token)).Select(t => t.State));
        Assert.Equal(JobState.Running, Assert.Single(await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token)).State);
    }

    [Fact]
    public async Task SaveAsync_WritesTheRestOfTheBatch_WhenOneRecordConflicts()
    {
        using var cts = Bounded.Timeout(60);
        var stale = JobId.New();
        await _store.SaveAsync([Job(stale) with { Version = 1, Data = [1] }], cts.Token).WaitAsync(cts.Token);
        var fresh = Enumerable.Range(0, 5).Select(_ => JobId.New()).ToArray();

        var conflicts = await _store.SaveAsync([
            .. fresh.Select(id => Job(id) with { Version = 1, Data = [7] }),
            Job(stale, JobState.Running, attempt: 1) with { Version = 5, Data = [2] },
        ], cts.Token).WaitAsync(cts.Token);

        Assert.Equal([stale], conflicts);
        var states = await _store.ReadStatesAsync([.. fresh, stale, JobId.New()], cts.Token).WaitAsync(cts.Token);
        Assert.Equal(6, states.Count);
        Assert.All(fresh, id => Assert.Equal([7], states[id].Data));
        Assert.Equal(1, states[stale].Version);
    }

    [Fact]
    public async Task SaveAsync_RefusesALaterVersionOfADeletedJob_AndBringsNothingBack()
    {
        using var cts = Bounded.Timeout(60);
        var purged = JobId.New();
        await _store.SaveAsync([Job(purged, JobState.Failed, attempt: 1) with { Version = 1, Data = [1] }], cts.Token).WaitAsync(cts.Token);
        Assert.Equal(1, await _store.PurgeFailedAsync([purged], cts.Token).WaitAsync(cts.Token));
        var never = JobId.New();
        var fresh = Enumerable.Range(0, 3).Select(_ => JobId.New()).ToArray();

        // A stale writer of the purged job and a writer of a job that never existed, in a batch with new jobs.
        var conflicts = await _store.SaveAsync([
            .. fresh.Select(id => Job(id) with { Version = 1, Data = [7] }),
            Job(purged, JobState.Queued, attempt: 1) with { Version = 2, Data = [2] },
            Job(never, JobState.Running, attempt: 1) with { Version = 4, Data = [4] },
        ], cts.Token).WaitAsync(cts.Token);

        Assert.Equal(new[] { purged, never }.ToHashSet(), conflicts.ToHashSet());
        var states = await _store.ReadStatesAsync([.. fresh, purged, never], cts.Token).WaitAsync(cts.Token);
        Assert.Equal(fresh.ToHashSet(), states.Keys.ToHashSet());
        Assert.Empty(await _store.ReadHistoryAsync(purged, cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await _store.ReadHistoryAsync(never, cts.Token).WaitAsync(cts.Token));
        Assert.Equal(fresh.ToHashSet(), (await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token)).Select(j => j.Id).ToHashSet());
        Assert.DoesNotContain(await _store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token), e => e.Id == purged || e.Id == never);

        // Alone, too.
        Assert.Equal([never], await _store.SaveAsync([Job(never, JobState.Running, attempt: 1) with { Version = 2, Data = [2] }], cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await _store.ReadStatesAsync([never], cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task SaveAsync_AppliesVersionsInOrder_WhenOneCallHoldsSuccessiveVersionsOfAJob()
    {
        using var cts = Bounded.Timeout(60);
        var id = JobId.New();
        var conflicts = await _store.SaveAsync([
            Job(id) with { Version = 1, Data = [1] },
            Job(id, JobState.Running, attempt: 1) with { Version = 2, Data = [2] },
            Job(id, JobState.Succeeded, attempt: 1) with { Version = 3, Data = [3] },
        ], cts.Token).WaitAsync(cts.Token);

        Assert.Empty(conflicts);
        var stored = (await _store.ReadStatesAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        Assert.Equal(3, stored.Version);
        Assert.Equal([3], stored.Data);
        Assert.Equal([JobState.Queued, JobState.Running, JobState.Succeeded], (await _store.ReadHistoryAsync(id, cts.Token).WaitAsync(cts.Token)).Select(t => t.State));
    }

    [Fact]
    public async Task GroupCommit_ReadsManyJobsInOneQuery_AndTellsEachCallerItsOwnConflicts()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting);
        var ids = Enumerable.Range(0, 200).Select(_ => JobId.New()).ToArray();
        await grouped.SaveAsync([.. ids.Select(id => Job(id) with { Version = 1, Data = id.Value.ToByteArray() })], cts.Token).WaitAsync(cts.Token);

        var gate = counting.Close();
        var issued = 0;
        var reads = ids.Select(id => Task.Run(() => { Interlocked.Increment(ref issued); return grouped.ReadStatesAsync([id], cts.Token); }, cts.Token)).ToArray();
        while (Volatile.Read(ref issued) < ids.Length || counting.ReadCalls == 0)
            await Task.Delay(10, cts.Token);
        gate.SetResult();
        var read = await Task.WhenAll(reads).WaitAsync(cts.Token);
        Assert.All(ids.Zip(read), pair => Assert.Equal(pair.First.Value.ToByteArray(), Assert.Single(pair.Second).Value.Data));
        Assert.True(counting.ReadCalls <= 3, $"expected reads to share queries, got {counting.ReadCalls} for {ids.Length} readers");

        // Half the writers are at the right version, half are stale; they share batches.
        gate = counting.Close();
        issued = 0;
        var writes = ids.Select((id, i) => Task.Run(() =>
        {
            Interlocked.Increment(ref issued);
            return grouped.SaveAsync([Job(id, JobState.Running, attempt: 1) with { Version = i % 2 == 0 ? 2 : 1, Data = [1] }], cts.Token);
        }, cts.Token)).ToArray();
        while (Volatile.Read(ref issued) < ids.Length || counting.SaveCalls < 2)
            await Task.Delay(10, cts.Token);
        gate.SetResult();
        var conflicts = await Task.WhenAll(writes).WaitAsync(cts.Token);
        for (var i = 0; i < ids.Length; i++)
            Assert.Equal(i % 2 == 0 ? [] : [ids[i]], conflicts[i]);
    }

    [Fact]
    public async Task GroupCommit_LandsEveryRecordInFewerCalls_WhenManyCallersSaveConcurrently()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting);
        var ids = Enumerable.Range(0, 500).Select(_ => JobId.New()).ToArray();

        // Hold the first underlying write, as slow I/O would, so every other caller must queue behind it.
        var gate = counting.Close();
        var issued = 0;
        var saves = ids.Select(id => Task.Run(() => { Interlocked.Increment(ref issued); return grouped.SaveAsync([Job(id)], cts.Token); }, cts.Token)).ToArray();
        while (Volatile.Read(ref issued) < ids.Length || counting.SaveCalls == 0)
            await Task.Delay(10, cts.Token);
        gate.SetResult();
        await Task.WhenAll(saves).WaitAsync(cts.Token);

        var rows = await grouped.ListAsync(new JobFilter { Limit = 1000 }, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(ids.ToHashSet(), rows.Select(r => r.Id).ToHashSet());
        Assert.Equal(500, counting.SavedRecords);
        Assert.True(counting.SaveCalls <= 2, $"expected the held batch and one more, got {counting.SaveCalls} underlying transactions");
    }

    [Fact]
    public async Task GroupCommit_WritesSeveralBatchesAtOnce_UpToItsLimit()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting, maxConcurrentBatches: 3);
        var ids = Enumerable.Range(0, 300).Select(_ => JobId.New()).ToArray();

        var gate = counting.Close();
        var saves = new List<Task>();
        foreach (var id in ids)
        {
            saves.Add(grouped.SaveAsync([Job(id)], cts.Token));
            await Task.Yield();
        }
        // Three writers are held at the gate; everything else waits for them, in at most three more batches.
        while (counting.SaveCalls < 3)
            await Task.Delay(10, cts.Token);
        await Task.Delay(200, cts.Token);
        Assert.Equal(3, counting.SaveCalls);
        gate.SetResult();
        await Task.WhenAll(saves).WaitAsync(cts.Token);

        Assert.Equal(300, counting.SavedRecords);
        Assert.True(counting.SaveCalls <= 6, $"expected at most 6 underlying transactions, got {counting.SaveCalls}");
        Assert.Equal(ids.ToHashSet(), (await grouped.ListAsync(new JobFilter { Limit = 1000 }, cts.Token).WaitAsync(cts.Token)).Select(r => r.Id).ToHashSet());
    }

    [Fact]
    public async Task GroupCommit_CapsBatchSizeAndKeepsCallsWhole_WhenCallsAreLarge()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting, maxBatchRecords: 10);

        var calls = Enumerable.Range(0, 20).Select(i => Enumerable.Range(0, i == 0 ? 25 : 4).Select(_ => Job(JobId.New())).ToArray()).ToArray();
        await Task.WhenAll(calls.Select(records => Task.Run(() => grouped.SaveAsync(records, cts.Token), cts.Token))).WaitAsync(cts.Token);

        Assert.Equal(25 + 19 * 4, counting.SavedRecords);
        Assert.All(counting.BatchSizes, size => Assert.True(size <= 10 || size == 25, $"batch of {size}"));
        Assert.Equal(25 + 19 * 4, (await grouped.ListAsync(new JobFilter { Limit = 1000 }, cts.Token).WaitAsync(cts.Token)).Count);
    }

    [Fact]
    public async Task GroupCommit_FaultsEveryCallerOfTheBatch_WhenTheWriteFails()
    {
        using var cts = Bounded.Timeout();
        var failing = new CountingStore(_store) { Fail = true };
        var grouped = new GroupCommitJobStore(failing);

        var tasks = Enumerable.Range(0, 20).Select(_ => grouped.SaveAsync([Job(JobId.New())], cts.Token)).ToArray();

        foreach (var task in tasks)
            await Assert.ThrowsAsync<InvalidOperationException>(() => task.WaitAsync(cts.Token));
        failing.Fail = false;
        await grouped.SaveAsync([Job(JobId.New())], cts.Token).WaitAsync(cts.Token);
        Assert.Single(await grouped.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task GroupCommit_AppendsEveryLogLine_WhenManyCallersAppendConcurrently()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting);
        var id = JobId.New();

        var gate = counting.Close();
        var issued = 0;
        var appends = Enumerable.Range(0, 300).Select(i => Task.Run(() =>
        {
            Interlocked.Increment(ref issued);
            return grouped.AppendLogAsync([new JobLogRecord(id, 1, LogStream.StdOut, T0, $"line {i}")], cts.Token);
        }, cts.Token)).ToArray();
        while (Volatile.Read(ref issued) < 300 || counting.LogCalls == 0)
            await Task.Delay(10, cts.Token);
        gate.SetResult();
        await Task.WhenAll(appends).WaitAsync(cts.Token);

        var lines = await grouped.ReadLogAsync(id, 0, 1000, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(300, lines.Select(l => l.Text).Distinct().Count());
        Assert.True(counting.LogCalls <= 2, $"expected the held batch and one more, got {counting.LogCalls} underlying transactions");
    }

    /// <summary>Counts the calls reaching the real store; can be told to fail.</summary>
    private sealed class CountingStore(ISchedulerStore inner) : ISchedulerStore
    {
        private int _saveCalls;
        private int _logCalls;
        private int _savedRecords;
        private int _readCalls;
        private int _workflowSaveCalls;

        private Task _gate = Task.CompletedTask;

        public bool Fail { get; set; }

        /// <summary>Makes every write wait until the returned source is completed.</summary>
        public TaskCompletionSource Close()
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _gate = gate.Task;
            return gate;
        }
        public int SaveCalls => Volatile.Read(ref _saveCalls);
        public int LogCalls => Volatile.Read(ref _logCalls);
        public int SavedRecords => Volatile.Read(ref _savedRecords);
        public int ReadCalls => Volatile.Read(ref _readCalls);
        public ConcurrentQueue<int> BatchSizes { get; } = new();

        public async Task<IReadOnlyList<JobId>> SaveAsync(IReadOnlyList<JobRecord> records, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _saveCalls);
            BatchSizes.Enqueue(records.Count);
            await _gate;
            // Yield so callers pile up while this batch is "being written", as they would with real I/O.
            await Task.Yield();
            if (Fail)
                throw new InvalidOperationException("simulated write failure");
            var conflicts = await inner.SaveAsync(records, cancellationToken);
            Interlocked.Add(ref _savedRecords, records.Count);
            return conflicts;
        }

        public async Task<IReadOnlyDictionary<JobId, StoredJobState>> ReadStatesAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _readCalls);
            await _gate;
            await Task.Yield();
            return await inner.ReadStatesAsync(ids, cancellationToken);
        }

        public async Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _logCalls);
            await _gate;
            await inner.AppendLogAsync(lines, cancellationToken);
        }

        public Task<OpenRowsPage> LoadOpenPageAsync(string queue, int shard, DateTimeOffset dueBefore, OpenRowPosition? after, int limit, CancellationToken cancellationToken = default) => inner.LoadOpenPageAsync(queue, shard, dueBefore, after, limit, cancellationToken);
        public Task<IReadOnlyList<string>> SaveSchedulesAsync(IReadOnlyList<ScheduleRecord> records, CancellationToken cancellationToken = default) => inner.SaveSchedulesAsync(records, cancellationToken);
        public Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default) => inner.ReadScheduleAsync(id, cancellationToken);
        public Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default) => inner.DeleteScheduleAsync(id, version, cancellationToken);
        public Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default) => inner.ListSchedulesAsync(after, limit, cancellationToken);
        public Task<IReadOnlyList<JobSummary>> ListAsync(JobFilter filter, CancellationToken cancellationToken = default) => inner.ListAsync(filter, cancellationToken);
        public Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken = default) => inner.CountByStateAsync(cancellationToken);
        public Task<IReadOnlyList<QueuedCount>> CountQueuedAsync(CancellationToken cancellationToken = default) => inner.CountQueuedAsync(cancellationToken);
        public Task<IReadOnlyList<JobTransition>> ReadHistoryAsync(JobId id, CancellationToken cancellationToken = default) => inner.ReadHistoryAsync(id, cancellationToken);
        public Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default) => inner.ReadLogAsync(id, afterSequence, max, cancellationToken);
        public Task<int> PruneJobsAsync(JobState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default) => inner.PruneJobsAsync(state, before, limit, cancellationToken);
        public Task<PrunedWorkflows> PruneWorkflowsAsync(WorkflowState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default) => inner.PruneWorkflowsAsync(state, before, limit, cancellationToken);
        public Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default) => inner.ListFailedAsync(filter, cancellationToken);
        public int WorkflowSaveCalls => Volatile.Read(ref _workflowSaveCalls);

        public async Task<IReadOnlyList<WorkflowId>> SaveWorkflowsAsync(IReadOnlyList<WorkflowRecord> records, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _workflowSaveCalls);
            await _gate;
            await Task.Yield();
            return await inner.SaveWorkflowsAsync(records, cancellationToken);
        }

        public Task<IReadOnlyDictionary<WorkflowId, StoredWorkflowState>> ReadWorkflowsAsync(IReadOnlyList<WorkflowId> ids, CancellationToken cancellationToken = default) => inner.ReadWorkflowsAsync(ids, cancellationToken);
        public Task TouchWorkflowsAsync(IReadOnlyList<WorkflowId> ids, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.TouchWorkflowsAsync(ids, at, cancellationToken);
        public Task<IReadOnlyList<WorkflowId>> ListWatchedWorkflowsAsync(int bucket, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken = default) => inner.ListWatchedWorkflowsAsync(bucket, updatedBefore, limit, cancellationToken);
        public Task<IReadOnlyList<StoredWorkflowRow>> ListWorkflowsAsync(WorkflowState? state, WorkflowId? after, int limit, CancellationToken cancellationToken = default) => inner.ListWorkflowsAsync(state, after, limit, cancellationToken);
        public Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default) => inner.PurgeFailedAsync(ids, cancellationToken);
        public Task<IReadOnlyList<string>> SaveFlowKeysAsync(IReadOnlyList<FlowKeyRecord> records, CancellationToken cancellationToken = default) => inner.SaveFlowKeysAsync(records, cancellationToken);
        public Task<IReadOnlyDictionary<string, StoredFlowKey>> ReadFlowKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) => inner.ReadFlowKeysAsync(keys, cancellationToken);
    }
}
