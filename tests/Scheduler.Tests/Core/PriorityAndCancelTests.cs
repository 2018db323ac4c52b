using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

[Collection(MemoryClusterCollection.Name)]
public sealed class PriorityAndCancelTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private ISchedulerClient Client => fixture.Client;

    [Fact]
    public async Task HighPriorityJob_StartsBeforeAQueuedBacklogOfLowPriorityJobs()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"prio-{Guid.NewGuid():N}";
        // Fill every slot, so everything after waits in the queue. The blockers end a second apart, so slots free
        // one at a time and "which job did the freed slot take" has one right answer.
        var blockers = await Client.SubmitManyAsync([.. Enumerable.Range(0, MemoryClusterFixture.Capacity)
            .Select(i => Payloads.WorkJob(sleepMs: 1500 + 1000 * i, tag: tag + "-blocker"))], cts.Token);
        await WaitUntilAsync(() => fixture.Book.Tagged(tag + "-blocker").Count == MemoryClusterFixture.Capacity, cts.Token);
        var low = await Client.SubmitManyAsync([.. Enumerable.Range(0, 12).Select(_ => Payloads.WorkJob(sleepMs: 50, priority: 10, tag: tag + "-low"))], cts.Token);
        var high = await Client.SubmitAsync(Payloads.WorkJob(priority: 90, tag: tag + "-high"), cts.Token);

        foreach (var job in low.Append(high).Concat(blockers))
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(job.Id, Patience, cts.Token))!.State);

        var highStart = fixture.Book.Of(high.Id).Single().Started;
        var lowStarts = low.Select(j => fixture.Book.Of(j.Id).Single().Started).ToList();
        Assert.All(lowStarts, start => Assert.True(highStart <= start,
            $"high-priority job started at {highStart:O}, after a low-priority job that started at {start:O}"));
    }

    [Fact]
    public async Task EqualPriority_RunsInSubmissionOrder()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"fifo-{Guid.NewGuid():N}";
        // One blocker ends early and frees one slot; the other holds its slot long enough for the whole queue to
        // drain through that single slot, so start order is submission order or a bug.
        var blockers = await Client.SubmitManyAsync([.. Enumerable.Range(0, MemoryClusterFixture.Capacity)
            .Select(i => Payloads.WorkJob(sleepMs: i == 0 ? 1000 : 8000, tag: tag + "-blocker"))], cts.Token);
        await WaitUntilAsync(() => fixture.Book.Tagged(tag + "-blocker").Count == MemoryClusterFixture.Capacity, cts.Token);
        var ordered = new List<JobId>();
        for (var i = 0; i < 8; i++)
            ordered.Add((await Client.SubmitAsync(Payloads.WorkJob(tag: tag), cts.Token)).Id);

        foreach (var id in ordered.Concat(blockers.Select(b => b.Id)))
            await Client.WaitForFinalAsync(id, Patience, cts.Token);

        var started = fixture.Book.Tagged(tag).Select(e => e.Id).ToList();
        Assert.Equal(ordered, started);
    }

    [Fact]
    public async Task CancelQueuedJob_MarksItCancelled_AndItNeverRuns()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"cancel-{Guid.NewGuid():N}";
        var blockers = await Client.SubmitManyAsync([.. Enumerable.Range(0, MemoryClusterFixture.Capacity)
            .Select(_ => Payloads.WorkJob(sleepMs: 5_000, tag: tag + "-blocker"))], cts.Token);
        await WaitUntilAsync(() => fixture.Book.Tagged(tag + "-blocker").Count == MemoryClusterFixture.Capacity, cts.Token);
        var victim = await Client.SubmitAsync(Payloads.WorkJob(tag: tag), cts.Token);

        var outcome = await Client.CancelAsync(victim.Id, "changed my mind", cts.Token);
        foreach (var blocker in blockers)
            await Client.WaitForFinalAsync(blocker.Id, Patience, cts.Token);
        // Give the freed slots a chance to (wrongly) pick the cancelled job up.
        var after = await Client.SubmitAsync(Payloads.WorkJob(), cts.Token);
        await Client.WaitForFinalAsync(after.Id, Patience, cts.Token);

        Assert.Equal(CancelOutcome.Cancelled, outcome);
        var status = await Client.GetStatusAsync(victim.Id, cts.Token);
        Assert.Equal(JobState.Cancelled, status!.State);
        Assert.Contains("changed my mind", status.LastError);
        Assert.Empty(fixture.Book.Tagged(tag));
        Assert.Equal(CancelOutcome.AlreadyFinal, await Client.CancelAsync(victim.Id, null, cts.Token));
    }

    [Fact]
    public async Task CancelRunningJob_StopsItsAttempt_AndItEndsCancelled()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"cancel-running-{Guid.NewGuid():N}";
        // It would run for two minutes if nobody stopped it.
        var job = await Client.SubmitAsync(Payloads.WorkJob(sleepMs: 120_000, maxAttempts: 3, tag: tag), cts.Token);
        await WaitUntilAsync(() => fixture.Book.Tagged(tag).Count == 1, cts.Token);

        var outcome = await Client.CancelAsync(job.Id, "no longer needed", cts.Token);
        var status = await Client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(45), cts.Token);

        Assert.Equal(CancelOutcome.Requested, outcome);
        Assert.Equal(JobState.Cancelled, status!.State);
        Assert.Equal(1, status.Attempt);
        Assert.Contains("no longer needed", status.LastError);
        var run = fixture.Book.Of(job.Id).Single();
        Assert.NotNull(run.Ended); // the handler saw its token fire and returned
    }

    [Fact]
    public async Task CancelRunningCommand_KillsTheProcess_AndItEndsCancelled()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitCommandAsync(new CommandJob { Executable = "/bin/sleep", Arguments = ["120"] }, cancellationToken: cts.Token);
        while ((await Client.GetStatusAsync(job.Id, cts.Token))?.State != JobState.Running)
            await Task.Delay(50, cts.Token);

        Assert.Equal(CancelOutcome.Requested, await Client.CancelAsync(job.Id, null, cts.Token));
        var status = await Client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(45), cts.Token);

        Assert.Equal(JobState.Cancelled, status!.State);
        var log = await Client.GetLogAsync(job.Id, cancellationToken: cts.Token);
        Assert.Contains(log, l => l.Stream == LogStream.System && l.Text.Contains("cancelled while it ran", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_ReportsNotFound_ForAnUnknownJob()
    {
        using var cts = new CancellationTokenSource(Patience);
        Assert.Equal(CancelOutcome.NotFound, await Client.CancelAsync(JobId.New(), null, cts.Token));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
            await Task.Delay(20, cancellationToken);
    }
}
