using Scheduler.Storage;
using Xunit;

namespace Scheduler.Tests.Storage;

public sealed class InMemoryJobStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public async Task LoadOpenAsync_ReturnsTheQueueTimeAndSizeHintSaved_AndCreationWithNoHintForARecordWithout()
    {
        using var cts = Bounded.Timeout();
        var store = new InMemoryJobStore();
        var workflowCreated = T0.AddMinutes(-10);
        var ofWorkflow = JobId.New();
        var plain = JobId.New();
        await store.SaveAsync([
            Job(ofWorkflow) with { QueuedAsOf = workflowCreated, SizeHint = 12 },
            Job(plain),
            Job(JobId.New(), JobState.Succeeded) with { QueuedAsOf = workflowCreated, SizeHint = 1 },
        ], cts.Token).WaitAsync(cts.Token);

        var open = (await store.LoadOpenAsync("default", 0, DateTimeOffset.MaxValue, cts.Token).WaitAsync(cts.Token)).ToDictionary(e => e.Id);

        Assert.Equal(2, open.Count);
        Assert.Equal(new QueueEntry(ofWorkflow, 50, workflowCreated.UtcTicks, 12, "t1"), open[ofWorkflow]);
        Assert.Equal(new QueueEntry(plain, 50, T0.UtcTicks, SizeHint: 0, Tenant: "t1"), open[plain]);
    }

    [Fact]
    public async Task DueTime_IsListed_AndJobsDueLaterAreLeftOutOfAReload()
    {
        using var cts = Bounded.Timeout();
        var store = new InMemoryJobStore();
        var reloadAt = T0.AddMinutes(2);
        var far = JobId.New();
        var near = JobId.New();
        var plain = JobId.New();
        await store.SaveAsync([
            Job(far) with { NotBefore = reloadAt },
            Job(near) with { NotBefore = reloadAt.AddTicks(-1) },
            Job(plain),
        ], cts.Token).WaitAsync(cts.Token);

        var open = await store.LoadOpenAsync("default", 0, reloadAt, cts.Token).WaitAsync(cts.Token);
        var listed = (await store.ListAsync(new JobFilter(), cts.Token).WaitAsync(cts.Token)).ToDictionary(j => j.Id, j => j.NextAttemptAt);

        Assert.Equal(new HashSet<JobId> { near, plain }, open.Select(e => e.Id).ToHashSet());
        Assert.Equal(reloadAt, listed[far]);
        Assert.Null(listed[plain]);
    }

    [Fact]
    public async Task CountQueuedAsync_FollowsJobsAsTheyAreQueuedStartedAndQueuedAgain()
    {
        using var cts = Bounded.Timeout();
        var store = new InMemoryJobStore();
        var (started, requeued) = (JobId.New(), JobId.New());
        await store.SaveAsync([
            Job(started) with { Version = 1 }, Job(requeued) with { Version = 1 }, Job(JobId.New()) with { Tenant = "t2" },
            Job(JobId.New()) with { Queue = "other" }, Job(JobId.New(), JobState.Succeeded),
        ], cts.Token).WaitAsync(cts.Token);
        await store.SaveAsync([Job(started, JobState.Running) with { Version = 2 }, Job(requeued, JobState.Running) with { Version = 2 }], cts.Token).WaitAsync(cts.Token);
        await store.SaveAsync([Job(requeued) with { Version = 3 }], cts.Token).WaitAsync(cts.Token);

        var counts = await store.CountQueuedAsync(cts.Token).WaitAsync(cts.Token);

        Assert.Equal(["default/t1=1", "default/t2=1", "other/t1=1"], counts.Select(c => $"{c.Queue}/{c.Tenant}={c.Count}").Order(StringComparer.Ordinal));
    }

    private static JobRecord Job(JobId id, JobState state = JobState.Queued) =>
        new(id, "default", 0, 50, "t1", "command", state, 0, T0, T0);
}
