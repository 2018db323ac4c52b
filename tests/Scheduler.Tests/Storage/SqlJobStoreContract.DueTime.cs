namespace Scheduler.Tests.Storage;

/// <summary>The due time of delayed jobs in their rows: written alone, in a batch and on update, listed, and filtered on reload.</summary>
public abstract partial class SqlJobStoreContract
{
    [Fact]
    public async Task DueTime_IsListed_AndJobsDueLaterAreLeftOutOfAReload_AloneInABatchAndOnUpdate()
    {
        using var cts = Bounded.Timeout(60);
        var reloadAt = T0.AddMinutes(2);
        var farAlone = JobId.New();
        var farBatched = JobId.New();
        var near = JobId.New();
        var plain = JobId.New();
        var movedNear = JobId.New();
        var movedFar = JobId.New();
        JobRecord Delayed(JobId id, DateTimeOffset? due, int version = 1) => Job(id) with { Version = version, Data = [1], NotBefore = due };

        await _store.SaveAsync([Delayed(farAlone, T0.AddHours(5))], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([
            Delayed(farBatched, reloadAt),
            Delayed(near, reloadAt.AddTicks(-1)),
            Delayed(plain, null),
            Delayed(movedNear, T0.AddDays(3)),
            Delayed(movedFar, null),
        ], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Delayed(movedNear, T0.AddSeconds(30), version: 2)], cts.Token).WaitAsync(cts.Token);
        await _store.SaveAsync([Delayed(movedFar, T0.AddDays(1), version: 2), Delayed(plain, null, version: 2)], cts.Token).WaitAsync(cts.Token);

        var open = await _store.LoadOpenAsync("default", 0, reloadAt, cts.Token).WaitAsync(cts.Token);
        var listed = (await _store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token)).ToDictionary(j => j.Id, j => j.NextAttemptAt);

        Assert.Equal(new HashSet<JobId> { near, plain, movedNear }, open.Select(e => e.Id).ToHashSet());
        Assert.Equal(T0.AddHours(5), listed[farAlone]);
        Assert.Equal(reloadAt, listed[farBatched]);
        Assert.Null(listed[plain]);
        Assert.Equal(T0.AddSeconds(30), listed[movedNear]);
        Assert.Equal(T0.AddDays(1), listed[movedFar]);
        Assert.Equal(6, (await _store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token)).Count);
    }
}
