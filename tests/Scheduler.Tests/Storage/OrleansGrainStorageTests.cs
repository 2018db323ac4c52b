using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Scheduler.Hosting;
using Xunit;

namespace Scheduler.Tests.Storage;

[Collection(EmbeddedClusterCollection.Name)]
public sealed class OrleansGrainStorageTests(EmbeddedClusterFixture fixture) : OrleansGrainStorageContract(fixture)
{
    [Fact]
    public void SiloStart_CreatesTheDatabaseFile_WhenDataDirectoryIsNew() =>
        Assert.True(File.Exists(Path.Combine(fixture.DataDirectory, EmbeddedSchedulerStorage.DatabaseFileName)));
}

/// <summary>Orleans' ADO.NET grain storage on one of our schemas, provider-neutral.</summary>
public abstract class OrleansGrainStorageContract(IStorageClusterFixture fixture)
{
    private IGrainStorage Storage => fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>(EmbeddedSchedulerStorage.StorageProviderName);

    [Fact]
    public async Task SiloStart_MigratesSchemaBeforeProviders_WhenDatabaseIsNew()
    {
        using var cts = Bounded.Timeout();

        // The silo started on an empty database: the providers could only read OrleansQuery because the migration
        // ran before them.
        Assert.Equal(15L, await ScalarAsync("SELECT MAX(version) FROM scheduler_schema_version", cts.Token));
        var options = fixture.SiloServices.GetRequiredService<IOptionsMonitor<AdoNetGrainStorageOptions>>().Get(EmbeddedSchedulerStorage.StorageProviderName);
        Assert.Equal(fixture.ExpectedInvariant, options.Invariant);
        Assert.IsType<OrleansGrainStorageSerializer>(options.GrainStorageSerializer);
    }

    [Fact]
    public async Task JobWrittenBeforeSchemaVersion4_IsReadFromOrleansStorage_AndMovesIntoItsRowOnItsNextChange()
    {
        using var cts = Bounded.Timeout(60);
        // Before schema version 4 a job's state lived in OrleansStorage (state name "job") and its row had no state.
        var id = JobId.New();
        var grainId = fixture.Cluster.Client.GetGrain<IJobGrain>(id.Value).GetGrainId();
        var created = DateTimeOffset.UtcNow.AddMinutes(-5);
        var old = new GrainState<Scheduler.Jobs.JobGrainState>(new Scheduler.Jobs.JobGrainState
        {
            State = JobState.Queued, Handler = "noop", Queue = "legacy-queue", Tenant = "legacy", Priority = 70,
            MaxAttempts = 3, Shard = 0, CreatedAt = created, UpdatedAt = created,
        });
        await Storage.WriteStateAsync(Scheduler.Storage.JobGrainStorage.StateName, grainId, old).WaitAsync(cts.Token);
        var store = fixture.SiloServices.GetRequiredService<Scheduler.Storage.IJobStore>();
        await store.SaveAsync([new Scheduler.Storage.JobRecord(id, "legacy-queue", 0, 70, "legacy", "noop", JobState.Queued, 0, created, created)], cts.Token).WaitAsync(cts.Token);

        var job = fixture.Cluster.Client.GetGrain<IJobGrain>(id.Value);
        var status = await job.GetStatus().WaitAsync(cts.Token);
        Assert.Equal((JobState.Queued, "legacy", 70, "legacy-queue"), (status?.State, status?.Tenant, status?.Priority, status?.Queue));

        Assert.Equal(CancelOutcome.Cancelled, await job.Cancel("upgrade test").WaitAsync(cts.Token));
        var stored = (await store.ReadStatesAsync([id], cts.Token).WaitAsync(cts.Token))[id];
        Assert.Equal(1, stored.Version);
        Assert.NotNull(stored.Data);
        await fixture.Cluster.DeactivateAsync(job).WaitAsync(cts.Token);
        Assert.Equal(JobState.Cancelled, (await job.GetStatus().WaitAsync(cts.Token))?.State);
    }

    [Fact]
    public async Task ReadState_ReturnsWrittenState_AfterDeactivation()
    {
        using var cts = Bounded.Timeout(60);
        var grain = fixture.Cluster.Client.GetGrain<IStorageProbeGrain>(Guid.NewGuid());
        await grain.Set(42, "hello").WaitAsync(cts.Token);
        await grain.Set(43, "again").WaitAsync(cts.Token);

        await fixture.Cluster.DeactivateAsync(grain).WaitAsync(cts.Token);
        var state = await grain.Get().WaitAsync(cts.Token);

        Assert.Equal(43, state.Value);
        Assert.Equal("again", state.Note);
        Assert.Equal("2", await grain.GetETag().WaitAsync(cts.Token));
    }

    [Fact]
    public async Task ClearState_LeavesDefaultState_AfterDeactivation()
    {
        using var cts = Bounded.Timeout(60);
        var grain = fixture.Cluster.Client.GetGrain<IStorageProbeGrain>(Guid.NewGuid());
        await grain.Set(7, "x").WaitAsync(cts.Token);

        await grain.Clear().WaitAsync(cts.Token);
        await fixture.Cluster.DeactivateAsync(grain).WaitAsync(cts.Token);

        Assert.Equal(0, (await grain.Get().WaitAsync(cts.Token)).Value);
        await grain.Set(8, "after clear").WaitAsync(cts.Token);
        await fixture.Cluster.DeactivateAsync(grain).WaitAsync(cts.Token);
        Assert.Equal(8, (await grain.Get().WaitAsync(cts.Token)).Value);
    }

    [Fact]
    public async Task DefaultProvider_IsTheEmbeddedStore_WhenGrainNamesNoProvider()
    {
        using var cts = Bounded.Timeout(60);
        var grain = fixture.Cluster.Client.GetGrain<IDefaultStorageProbeGrain>(Guid.NewGuid());

        await grain.Set(5).WaitAsync(cts.Token);

        Assert.True(await ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE ServiceId = '{fixture.ServiceId}' AND GrainTypeString = 'default-probe'", cts.Token) >= 1);
    }

    [Fact]
    public async Task WriteState_ThrowsInconsistentState_WhenWriterHoldsStaleVersion()
    {
        using var cts = Bounded.Timeout();
        var id = GrainId.Create("storage-probe", Guid.NewGuid().ToString("N"));
        var first = new GrainState<ProbeState>(new ProbeState { Value = 1 });
        await Storage.WriteStateAsync("conflict", id, first).WaitAsync(cts.Token);
        var second = new GrainState<ProbeState>(new ProbeState());
        await Storage.ReadStateAsync("conflict", id, second).WaitAsync(cts.Token);
        Assert.Equal(first.ETag, second.ETag);

        first.State!.Value = 2;
        await Storage.WriteStateAsync("conflict", id, first).WaitAsync(cts.Token);
        second.State!.Value = 3;

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("conflict", id, second).WaitAsync(cts.Token));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("conflict", id, second).WaitAsync(cts.Token));
        var reread = new GrainState<ProbeState>(new ProbeState());
        await Storage.ReadStateAsync("conflict", id, reread).WaitAsync(cts.Token);
        Assert.Equal(2, reread.State!.Value);
        Assert.Equal("2", reread.ETag);
    }

    [Fact]
    public async Task WriteState_ThrowsInconsistentState_WhenSecondFirstWriterFindsARow()
    {
        using var cts = Bounded.Timeout();
        var id = GrainId.Create("storage-probe", Guid.NewGuid().ToString("N"));
        await Storage.WriteStateAsync("first-write", id, new GrainState<ProbeState>(new ProbeState { Value = 1 })).WaitAsync(cts.Token);

        await Assert.ThrowsAsync<InconsistentStateException>(
            () => Storage.WriteStateAsync("first-write", id, new GrainState<ProbeState>(new ProbeState { Value = 2 })).WaitAsync(cts.Token));
    }

    [Fact]
    public async Task WriteState_ThrowsInconsistentState_WhenRowWasRemovedUnderAVersionedWriter()
    {
        using var cts = Bounded.Timeout();
        var id = GrainId.Create("storage-probe", Guid.NewGuid().ToString("N"));

        await Assert.ThrowsAsync<InconsistentStateException>(
            () => Storage.WriteStateAsync("ghost", id, new GrainState<ProbeState>(new ProbeState(), "5")).WaitAsync(cts.Token));
        Assert.Equal(0L, await ScalarAsync($"SELECT COUNT(*) FROM OrleansStorage WHERE GrainTypeString = 'ghost'", cts.Token));
    }

    [Fact]
    public async Task State_IsKeptApart_WhenKeysDifferOnlyByExtension()
    {
        using var cts = Bounded.Timeout();
        var guid = Guid.NewGuid();
        var type = GrainType.Create("storage-probe");
        var plain = GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(guid));
        var extended = GrainId.Create(type, GrainIdKeyExtensions.CreateGuidKey(guid, "ext"));
        var plainState = new GrainState<ProbeState>(new ProbeState { Value = 1 });
        var extendedState = new GrainState<ProbeState>(new ProbeState { Value = 2 });

        await Storage.WriteStateAsync("ext", plain, plainState).WaitAsync(cts.Token);
        await Storage.WriteStateAsync("ext", extended, extendedState).WaitAsync(cts.Token);
        plainState.State!.Value = 10;
        await Storage.WriteStateAsync("ext", plain, plainState).WaitAsync(cts.Token);

        var readPlain = new GrainState<ProbeState>(new ProbeState());
        var readExtended = new GrainState<ProbeState>(new ProbeState());
        await Storage.ReadStateAsync("ext", plain, readPlain).WaitAsync(cts.Token);
        await Storage.ReadStateAsync("ext", extended, readExtended).WaitAsync(cts.Token);
        Assert.Equal((10, "2"), (readPlain.State!.Value, readPlain.ETag));
        Assert.Equal((2, "1"), (readExtended.State!.Value, readExtended.ETag));
        Assert.True(readPlain.RecordExists && readExtended.RecordExists);
    }

    [Fact]
    public async Task Writes_AllSucceed_WhenGrainsAndJobStoreWriteConcurrently()
    {
        using var cts = Bounded.Timeout(60);
        var jobStore = fixture.SiloServices.GetRequiredService<Scheduler.Storage.IJobStore>();
        Assert.IsType<Scheduler.Storage.GroupCommitJobStore>(jobStore);
        var now = DateTimeOffset.UtcNow;
        var queue = "concurrent-" + Guid.NewGuid().ToString("N");

        var grainWrites = Enumerable.Range(0, 100).Select(i => fixture.Cluster.Client.GetGrain<IStorageProbeGrain>(Guid.NewGuid()).Set(i, "c"));
        var jobWrites = Enumerable.Range(0, 200).Select(i => jobStore.SaveAsync(
            [new Scheduler.Storage.JobRecord(JobId.New(), queue, 0, 50, "t", "command", JobState.Queued, 0, now, now)], cts.Token));
        await Task.WhenAll(grainWrites.Concat(jobWrites)).WaitAsync(cts.Token);

        Assert.Equal(200, (await jobStore.LoadOpenAsync(queue, 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token)).Count);
    }

    [Fact]
    public async Task DeleteStorageQuery_DeletesOnlyWithCurrentVersion_WhenRunAsOrleansRunsIt()
    {
        using var cts = Bounded.Timeout();
        var id = GrainId.Create("storage-probe", Guid.NewGuid().ToString("N"));
        var state = new GrainState<ProbeState>(new ProbeState { Value = 1 });
        await Storage.WriteStateAsync("delete", id, state).WaitAsync(cts.Token);
        await using var connection = await fixture.OpenConnectionAsync(cts.Token);
        await using var lookup = connection.CreateCommand();
        lookup.CommandText = "SELECT GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1 FROM OrleansStorage WHERE ServiceId = @s AND GrainTypeString = 'delete'";
        Add(lookup, "@s", fixture.ServiceId);
        long[] key;
        await using (var reader = await lookup.ExecuteReaderAsync(cts.Token))
        {
            Assert.True(await reader.ReadAsync(cts.Token));
            key = [.. Enumerable.Range(0, 4).Select(i => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture))];
        }
        await using var queryText = connection.CreateCommand();
        queryText.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = 'DeleteStorageKey'";
        var deleteSql = (string)(await queryText.ExecuteScalarAsync(cts.Token))!;

        async Task<long?> DeleteAsync(int version)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = deleteSql;
            Add(command, "@GrainIdHash", (int)key[0]);
            Add(command, "@GrainTypeHash", (int)key[1]);
            Add(command, "@GrainIdN0", key[2]);
            Add(command, "@GrainIdN1", key[3]);
            Add(command, "@GrainTypeString", "delete");
            Add(command, "@GrainIdExtensionString", DBNull.Value);
            Add(command, "@ServiceId", fixture.ServiceId);
            Add(command, "@GrainStateVersion", version);
            var result = await command.ExecuteScalarAsync(cts.Token);
            return result is null or DBNull ? null : Convert.ToInt64(result, CultureInfo.InvariantCulture);
        }

        Assert.Null(await DeleteAsync(version: 7));
        Assert.Equal(2L, await DeleteAsync(version: 1));
        var reread = new GrainState<ProbeState>(new ProbeState());
        await Storage.ReadStateAsync("delete", id, reread).WaitAsync(cts.Token);
        Assert.False(reread.RecordExists);
        Assert.Null(reread.ETag);
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await fixture.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
