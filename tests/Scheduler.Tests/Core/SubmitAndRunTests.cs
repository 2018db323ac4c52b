using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

[Collection(MemoryClusterCollection.Name)]
public sealed class SubmitAndRunTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ISchedulerClient Client => fixture.Client;

    [Fact]
    public async Task Submit_IsAccepted_AndTheJobRuns_WhenItsQueueShardDoesNotAnswerAtFirst()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = JobId.New();
        // The submit's own enqueue fails, then the job grain's first try: the job is queued on the grain's next try.
        fixture.Faults.Refuse(id, times: 2);

        var submitted = await Client.SubmitAsync(Payloads.WorkJob(tag: "unreachable-shard") with { Id = id }, cts.Token);
        var status = await Client.WaitForFinalAsync(id, Patience, cts.Token);

        Assert.Equal(SubmitOutcome.Accepted, submitted.Outcome);
        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Single(fixture.Book.Of(id));
    }

    [Fact]
    public async Task Submit_RunsToSucceeded_WithStatusAndLog()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitAsync(Payloads.WorkJob(tag: "basic") with { Tenant = "alice", Priority = 70 }, cts.Token);
        Assert.Equal(SubmitOutcome.Accepted, submitted.Outcome);

        var status = await Client.WaitForFinalAsync(submitted.Id, Patience, cts.Token);

        Assert.NotNull(status);
        Assert.Equal(JobState.Succeeded, status.State);
        Assert.Equal(1, status.Attempt);
        Assert.Equal("alice", status.Tenant);
        Assert.Equal(70, status.Priority);
        Assert.NotNull(status.StartedAt);
        Assert.NotNull(status.FinishedAt);
        Assert.Single(fixture.Book.Of(submitted.Id));
        var log = await Client.GetLogAsync(submitted.Id, cancellationToken: cts.Token);
        Assert.Contains(log, l => l.Text == "work basic attempt 1");
    }

    [Fact]
    public async Task SubmitMany_RunsEveryJobExactlyOnce()
    {
        using var cts = new CancellationTokenSource(Patience);
        var requests = Enumerable.Range(0, 200).Select(_ => Payloads.WorkJob(tag: "many")).ToList();

        var results = await Client.SubmitManyAsync(requests, cts.Token);

        Assert.Equal(200, results.Select(r => r.Id).Distinct().Count());
        foreach (var result in results)
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(result.Id, Patience, cts.Token))!.State);
        Assert.All(results, r => Assert.Single(fixture.Book.Of(r.Id)));
    }

    [Fact]
    public async Task RetriableOutcome_RetriesUntilMaxAttempts_ThenFails()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(outcome: "retry", maxAttempts: 3), cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(3, status.Attempt);
        Assert.Contains("asked to retry", status.LastError);
        Assert.Equal([1, 2, 3], fixture.Book.Of(job.Id).Select(e => e.Attempt));
    }

    [Fact]
    public async Task RetriableOutcome_SucceedsOnALaterAttempt()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(failTimes: 1, maxAttempts: 3), cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(2, status.Attempt);
    }

    [Fact]
    public async Task History_RecordsEveryTransition_WithAttemptSiloAndReason()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(failTimes: 1, maxAttempts: 3), cts.Token);
        await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        var history = await Client.GetHistoryAsync(job.Id, cts.Token);

        Assert.Equal([JobState.Queued, JobState.Running, JobState.Queued, JobState.Running, JobState.Succeeded], history.Select(t => t.State));
        Assert.Equal([0, 1, 1, 2, 2], history.Select(t => t.Attempt));
        Assert.Contains("failing on purpose", history[2].Reason);
        Assert.NotNull(history[1].Silo);
        Assert.Equal(history[3].Silo, history[4].Silo);
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp), "history is not in time order");
    }

    [Fact]
    public async Task FatalOutcome_FailsWithoutRetry()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(outcome: "fatal", maxAttempts: 5), cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(1, status.Attempt);
        Assert.Contains("asked to fail", status.LastError);
    }

    [Fact]
    public async Task HandlerException_IsRetriable()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(outcome: "throw", maxAttempts: 2), cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(2, status.Attempt);
        Assert.Contains("handler threw on purpose", status.LastError);
    }

    [Fact]
    public async Task Timeout_CancelsTheAttempt_AndCountsAsRetriable()
    {
        using var cts = new CancellationTokenSource(Patience);
        var request = Payloads.WorkJob(sleepMs: 30_000, maxAttempts: 1) with { Limits = new JobLimits { MaxAttempts = 1, Timeout = TimeSpan.FromMilliseconds(300) } };
        var job = await Client.SubmitAsync(request, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Contains("timed out", status.LastError);
    }

    [Fact]
    public async Task IdempotencyKey_ReturnsTheSameJob_AndRunsItOnce()
    {
        using var cts = new CancellationTokenSource(Patience);
        var key = $"upload-{Guid.NewGuid():N}";
        var first = await Client.SubmitAsync(Payloads.WorkJob(tag: key) with { IdempotencyKey = key }, cts.Token);
        await Client.WaitForFinalAsync(first.Id, Patience, cts.Token);

        var second = await Client.SubmitAsync(Payloads.WorkJob(tag: key) with { IdempotencyKey = key }, cts.Token);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(SubmitOutcome.Accepted, first.Outcome);
        Assert.Equal(SubmitOutcome.Existing, second.Outcome);
        Assert.Equal(JobState.Succeeded, second.State);
        Assert.Single(fixture.Book.Tagged(key));
    }

    [Fact]
    public async Task GetStatus_IsNull_ForAnUnknownJob()
    {
        using var cts = new CancellationTokenSource(Patience);
        Assert.Null(await Client.GetStatusAsync(JobId.New(), cts.Token));
    }

    [Fact]
    public async Task List_FiltersByTenantAndState()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = $"t{Guid.NewGuid():N}"[..20];
        var jobs = await Client.SubmitManyAsync([.. Enumerable.Range(0, 3).Select(_ => Payloads.WorkJob() with { Tenant = tenant })], cts.Token);
        foreach (var job in jobs)
            await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        var listed = await Client.ListAsync(new JobFilter { Tenant = tenant, State = JobState.Succeeded }, cts.Token);
        var none = await Client.ListAsync(new JobFilter { Tenant = tenant, State = JobState.Failed }, cts.Token);

        Assert.Equal(jobs.Select(j => j.Id).Order(), listed.Select(j => j.Id).Order());
        Assert.Empty(none);
    }
}
