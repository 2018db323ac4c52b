using System.Data;
using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

// Workflow rows (scheduler_workflows): the same scenarios on every database.
public abstract partial class SqlJobStoreContract
{
    private static WorkflowRecord Workflow(WorkflowId id, int version, byte[]? data = null, bool watch = false,
        DateTimeOffset? updated = null, WorkflowState state = WorkflowState.Running) =>
        new(id, version, state, watch, updated ?? T0, data ?? [(byte)version]);

    private static void AssertRow(int version, byte[] data, StoredWorkflowState stored)
    {
        Assert.Equal(version, stored.Version);
        Assert.Equal(data, stored.Data);
    }

    /// <summary>A new workflow id whose <see cref="WorkflowRecord.BucketOf"/> is <paramref name="bucket"/>.</summary>
    private static WorkflowId IdIn(int bucket)
    {
        while (true)
        {
            var id = WorkflowId.New();
            if (WorkflowRecord.BucketOf(id) == bucket)
                return id;
        }
    }

    [Fact]
    public async Task SaveWorkflowsAsync_CreatesAtVersion1_AndWritesALaterVersionOnlyOverTheOneBefore()
    {
        using var cts = Bounded.Timeout(60);
        var id = WorkflowId.New();
        byte[] first = [1, 2, 3], second = [4, 5];

        Assert.Empty(await _store.SaveWorkflowsAsync([Workflow(id, 1, first, watch: true)], cts.Token).WaitAsync(cts.Token));
        // A second creator, a writer that skips a version and (below) a stale writer are refused and change nothing.
        Assert.Equal([id], await _store.SaveWorkflowsAsync([Workflow(id, 1, [9])], cts.Token).WaitAsync(cts.Token));
        Assert.Equal([id], await _store.SaveWorkflowsAsync([Workflow(id, 3, [9])], cts.Token).WaitAsync(cts.Token));
        var stored = (await _store.ReadWorkflowsAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        AssertRow(1, first, stored);

        Assert.Empty(await _store.SaveWorkflowsAsync([Workflow(id, 2, second, updated: T0.AddSeconds(1), state: WorkflowState.Succeeded)], cts.Token).WaitAsync(cts.Token));
        Assert.Equal([id], await _store.SaveWorkflowsAsync([Workflow(id, 2, [9], watch: true, updated: T0.AddSeconds(2))], cts.Token).WaitAsync(cts.Token));

        stored = (await _store.ReadWorkflowsAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        AssertRow(2, second, stored);
        // The refused stale write did not bring the watch back either.
        Assert.Empty(await _store.ListWatchedWorkflowsAsync(WorkflowRecord.BucketOf(id), T0.AddHours(1), 10, cts.Token).WaitAsync(cts.Token));
        Assert.Equal((long)WorkflowState.Succeeded, await WorkflowColumnAsync(id, "state", cts.Token));
    }

    [Fact]
    public async Task SaveWorkflowsAsync_RefusesALaterVersionOfAWorkflowWithNoRow_AndCreatesNone()
    {
        using var cts = Bounded.Timeout(60);
        var missing = IdIn(3);
        var fresh = Enumerable.Range(0, 3).Select(_ => WorkflowId.New()).ToArray();

        var conflicts = await _store.SaveWorkflowsAsync([
            .. fresh.Select(id => Workflow(id, 1, [7])),
            Workflow(missing, 2, [2], watch: true),
        ], cts.Token).WaitAsync(cts.Token);

        Assert.Equal([missing], conflicts);
        var rows = await _store.ReadWorkflowsAsync([.. fresh, missing], cts.Token).WaitAsync(cts.Token);
        Assert.Equal(fresh.ToHashSet(), rows.Keys.ToHashSet());
        Assert.DoesNotContain(missing, await _store.ListWatchedWorkflowsAsync(3, T0.AddHours(1), 10, cts.Token).WaitAsync(cts.Token));
        Assert.Equal([missing], await _store.SaveWorkflowsAsync([Workflow(missing, 5)], cts.Token).WaitAsync(cts.Token));
        Assert.Empty(await _store.ReadWorkflowsAsync([missing], cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task SaveWorkflowsAsync_ReportsExactlyTheConflictingIds_WhenABatchMixesNewUpdatedAndConflictingWorkflows()
    {
        using var cts = Bounded.Timeout(60);
        var updated = Enumerable.Range(0, 3).Select(_ => WorkflowId.New()).ToArray();
        var recreated = WorkflowId.New();
        var stale = WorkflowId.New();
        await _store.SaveWorkflowsAsync([.. updated.Append(recreated).Append(stale).Select(id => Workflow(id, 1))], cts.Token).WaitAsync(cts.Token);
        await _store.SaveWorkflowsAsync([Workflow(stale, 2)], cts.Token).WaitAsync(cts.Token);
        var fresh = Enumerable.Range(0, 4).Select(_ => WorkflowId.New()).ToArray();

        var conflicts = await _store.SaveWorkflowsAsync([
            .. fresh.Select(id => Workflow(id, 1, [7])),
            Workflow(recreated, 1, [8]),
            .. updated.Select(id => Workflow(id, 2, [6])),
            Workflow(stale, 2, [8]),
        ], cts.Token).WaitAsync(cts.Token);

        Assert.Equal(new[] { recreated, stale }.ToHashSet(), conflicts.ToHashSet());
        Assert.Equal(2, conflicts.Count);
        var rows = await _store.ReadWorkflowsAsync([.. fresh, .. updated, recreated, stale], cts.Token).WaitAsync(cts.Token);
        Assert.All(fresh, id => AssertRow(1, [7], rows[id]));
        Assert.All(updated, id => AssertRow(2, [6], rows[id]));
        AssertRow(1, [1], rows[recreated]);
        AssertRow(2, [2], rows[stale]);
    }

    [Fact]
    public async Task GroupCommit_TellsEachWorkflowWriterItsOwnConflicts_WhenNewUpdatedAndConflictingWritesShareABatch()
    {
        using var cts = Bounded.Timeout(60);
        var counting = new CountingStore(_store);
        var grouped = new GroupCommitJobStore(counting);
        var existing = Enumerable.Range(0, 60).Select(_ => WorkflowId.New()).ToArray();
        await grouped.SaveWorkflowsAsync([.. existing.Select(id => Workflow(id, 1))], cts.Token).WaitAsync(cts.Token);
        var fresh = Enumerable.Range(0, 30).Select(_ => WorkflowId.New()).ToArray();

        // Writers of every kind queue behind a held write, so that they share the next batch: a third of the existing
        // workflows move to version 2, a third are created again, a third are written at a version they are not at.
        var gate = counting.Close();
        var calls = counting.WorkflowSaveCalls;
        var issued = 0;
        var expected = new Dictionary<WorkflowId, bool>();
        var writes = new List<(WorkflowId Id, Task<IReadOnlyList<WorkflowId>> Conflicts)>();
        foreach (var (id, i) in existing.Select((id, i) => (id, i)))
        {
            var version = (i % 3) switch { 0 => 2, 1 => 1, _ => 3 };
            expected[id] = version != 2;
            writes.Add((id, Task.Run(() => { Interlocked.Increment(ref issued); return grouped.SaveWorkflowsAsync([Workflow(id, version, [5])], cts.Token); }, cts.Token)));
        }
        foreach (var id in fresh)
        {
            expected[id] = false;
            writes.Add((id, Task.Run(() => { Interlocked.Increment(ref issued); return grouped.SaveWorkflowsAsync([Workflow(id, 1, [5])], cts.Token); }, cts.Token)));
        }
        while (Volatile.Read(ref issued) < writes.Count || counting.WorkflowSaveCalls == calls)
            await Task.Delay(10, cts.Token);
        gate.SetResult();
        await Task.WhenAll(writes.Select(w => w.Conflicts)).WaitAsync(cts.Token);

        Assert.True(counting.WorkflowSaveCalls - calls <= 2, $"expected the held batch and one more, got {counting.WorkflowSaveCalls - calls} underlying writes");
        foreach (var (id, conflicts) in writes)
            Assert.Equal(expected[id] ? [id] : [], await conflicts);
        var rows = await _store.ReadWorkflowsAsync([.. expected.Keys], cts.Token).WaitAsync(cts.Token);
        Assert.All(expected, pair => Assert.Equal(pair.Value ? [1] : [5], rows[pair.Key].Data));
    }

    [Fact]
    public async Task ReadWorkflowsAsync_ReturnsTheStoredBytes_AndLeavesOutAbsentIds()
    {
        using var cts = Bounded.Timeout(60);
        var a = WorkflowId.New();
        var b = WorkflowId.New();
        var elsewhere = WorkflowId.New();
        var big = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();
        await _store.SaveWorkflowsAsync([Workflow(a, 1, big), Workflow(b, 1, [0, 255, 0])], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveWorkflowsAsync([Workflow(elsewhere, 1, [3])], cts.Token).WaitAsync(cts.Token);

        var found = await _store.ReadWorkflowsAsync([a, WorkflowId.New(), b, elsewhere, a], cts.Token).WaitAsync(cts.Token);
        var grouped = await new GroupCommitJobStore(_store).ReadWorkflowsAsync([b, WorkflowId.New()], cts.Token).WaitAsync(cts.Token);

        Assert.Equal(new[] { a, b }.ToHashSet(), found.Keys.ToHashSet());
        Assert.Equal(big, found[a].Data);
        Assert.Equal([0, 255, 0], found[b].Data);
        Assert.Equal([b], grouped.Keys);
        Assert.Empty(await _store.ReadWorkflowsAsync([], cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task ListWatchedWorkflowsAsync_ReturnsOnlyWatchedRowsOfTheBucketWrittenBeforeTheCutOff_OldestFirst_UpToTheLimit()
    {
        using var cts = Bounded.Timeout(60);
        const int bucket = 5;
        var cutOff = T0.AddMinutes(10);
        var oldest = IdIn(bucket);
        var middle = IdIn(bucket);
        var newest = IdIn(bucket);
        var quiet = IdIn(bucket);
        var noLongerWatched = IdIn(bucket);
        var tooRecent = IdIn(bucket);
        var atCutOff = IdIn(bucket);
        var otherBucket = IdIn(bucket + 1);
        await _store.SaveWorkflowsAsync([
            Workflow(middle, 1, watch: true, updated: T0.AddMinutes(2)),
            Workflow(newest, 1, watch: true, updated: T0.AddMinutes(3)),
            Workflow(oldest, 1, watch: true, updated: T0.AddMinutes(1)),
            Workflow(quiet, 1, watch: false, updated: T0),
            Workflow(noLongerWatched, 1, watch: true, updated: T0),
            Workflow(tooRecent, 1, watch: true, updated: cutOff.AddTicks(1)),
            Workflow(atCutOff, 1, watch: true, updated: cutOff),
            Workflow(otherBucket, 1, watch: true, updated: T0),
        ], cts.Token).WaitAsync(cts.Token);
        await _store.SaveWorkflowsAsync([Workflow(noLongerWatched, 2, watch: false, updated: T0.AddSeconds(1), state: WorkflowState.Succeeded)], cts.Token).WaitAsync(cts.Token);
        await Store(ServiceB).SaveWorkflowsAsync([Workflow(IdIn(bucket), 1, watch: true, updated: T0)], cts.Token).WaitAsync(cts.Token);

        var all = await _store.ListWatchedWorkflowsAsync(bucket, cutOff, 100, cts.Token).WaitAsync(cts.Token);
        var firstTwo = await _store.ListWatchedWorkflowsAsync(bucket, cutOff, 2, cts.Token).WaitAsync(cts.Token);
        var later = await _store.ListWatchedWorkflowsAsync(bucket, cutOff.AddTicks(2), 100, cts.Token).WaitAsync(cts.Token);
        var neighbour = await new GroupCommitJobStore(_store).ListWatchedWorkflowsAsync(bucket + 1, cutOff, 100, cts.Token).WaitAsync(cts.Token);

        Assert.Equal([oldest, middle, newest], all);
        Assert.Equal([oldest, middle], firstTwo);
        Assert.Equal([oldest, middle, newest, atCutOff, tooRecent], later);
        Assert.Equal([otherBucket], neighbour);
        Assert.Empty(await _store.ListWatchedWorkflowsAsync(bucket + 2, cutOff, 100, cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task TouchWorkflowsAsync_SendsCheckedWorkflowsToTheBackOfTheWatchList_AndChangesNothingElse()
    {
        using var cts = Bounded.Timeout(60);
        const int bucket = 7;
        var first = IdIn(bucket);
        var second = IdIn(bucket);
        var third = IdIn(bucket);
        await _store.SaveWorkflowsAsync([
            Workflow(first, 1, [1], watch: true, updated: T0.AddMinutes(1)),
            Workflow(second, 1, [2], watch: true, updated: T0.AddMinutes(2)),
            Workflow(third, 1, [3], watch: true, updated: T0.AddMinutes(3)),
        ], cts.Token).WaitAsync(cts.Token);

        // A watchdog checked the first two (their jobs run on): the third is now first in line.
        await new GroupCommitJobStore(_store).TouchWorkflowsAsync([first, second], T0.AddMinutes(5), cts.Token).WaitAsync(cts.Token);
        // A touch never moves a row back in time.
        await _store.TouchWorkflowsAsync([third], T0, cts.Token).WaitAsync(cts.Token);

        var listed = await _store.ListWatchedWorkflowsAsync(bucket, T0.AddMinutes(10), 10, cts.Token).WaitAsync(cts.Token);
        Assert.Equal(third, listed[0]);
        Assert.Equal(new HashSet<WorkflowId> { first, second }, listed.Skip(1).ToHashSet());
        Assert.Equal([third], await _store.ListWatchedWorkflowsAsync(bucket, T0.AddMinutes(4), 10, cts.Token).WaitAsync(cts.Token));
        var stored = await _store.ReadWorkflowsAsync([first, second, third], cts.Token).WaitAsync(cts.Token);
        AssertRow(1, [1], stored[first]);
        AssertRow(1, [2], stored[second]);
        AssertRow(1, [3], stored[third]);
        // The version is untouched: the grain's next write goes through.
        Assert.Empty(await _store.SaveWorkflowsAsync([Workflow(first, 2, [9], watch: true, updated: T0.AddMinutes(6))], cts.Token).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task LegacyStateHasState_IsFalseWithoutOrleansState_AndTrueOnceOrleansStorageHoldsThatStateForTheService()
    {
        using var cts = Bounded.Timeout(60);
        using var services = new ServiceCollection().BuildServiceProvider();
        LegacyState Legacy(string serviceId) => new(services, _dataSource, serviceId);
        Assert.False(await Legacy(ServiceA).HasStateAsync("workflow", cts.Token).WaitAsync(cts.Token));

        await InsertOrleansStateAsync(ServiceA, "workflow", cts.Token);

        Assert.True(await Legacy(ServiceA).HasStateAsync("workflow", cts.Token).WaitAsync(cts.Token));
        Assert.False(await Legacy(ServiceA).HasStateAsync("job", cts.Token).WaitAsync(cts.Token));
        Assert.False(await Legacy(ServiceB).HasStateAsync("workflow", cts.Token).WaitAsync(cts.Token));
    }

    /// <summary>A row of OrleansStorage as the Orleans ADO.NET grain storage would leave it (its key columns made up).</summary>
    private async Task InsertOrleansStateAsync(string serviceId, string stateName, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO OrleansStorage (ServiceId, GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString,
                GrainIdExtensionKey, GrainIdExtensionString, PayloadBinary, ModifiedOn, Version)
            VALUES (@service_id, 1, 2, 3, 4, @state_name, '', NULL, @payload, CURRENT_TIMESTAMP, 1)
            """;
        Add(command, "service_id", DbType.String, serviceId);
        Add(command, "state_name", DbType.String, stateName);
        Add(command, "payload", DbType.Binary, new byte[] { 1 });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<long> WorkflowColumnAsync(WorkflowId id, string column, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {column} FROM scheduler_workflows WHERE service_id = @service_id AND workflow_id = @workflow_id";
        Add(command, "service_id", DbType.String, ServiceA);
        Add(command, "workflow_id", DbType.String, id.ToString());
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Add(DbCommand command, string name, DbType type, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
