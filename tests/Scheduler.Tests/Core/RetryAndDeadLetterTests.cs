using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>Retry backoff, per-handler and per-job retry settings, exceptions, and the dead-letter queue through the SDK.</summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class RetryAndDeadLetterTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ISchedulerClient Client => fixture.Client;

    /// <summary>A tenant of its own, so a test lists only its own dead letters in the shared cluster.</summary>
    private static string NewTenant() => "t-" + Guid.NewGuid().ToString("N")[..12];

    private static readonly RetryPolicy AtOnce = new() { InitialDelay = TimeSpan.Zero };

    [Fact]
    public async Task RetriableOutcome_WaitsTheBackoff_BeforeTheNextAttempt()
    {
        using var cts = new CancellationTokenSource(Patience);
        var delay = TimeSpan.FromSeconds(2);
        var job = await Client.SubmitAsync(Payloads.WorkJob(failTimes: 1) with
        {
            Retry = new RetryPolicy { InitialDelay = delay, Jitter = RetryJitter.None },
        }, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(2, status.Attempt);
        var history = await Client.GetHistoryAsync(job.Id, cts.Token);
        var requeued = history.Single(t => t.State == JobState.Queued && t.Attempt == 1);
        var second = history.Single(t => t.State == JobState.Running && t.Attempt == 2);
        Assert.True(second.Timestamp - requeued.Timestamp >= delay,
            $"attempt 2 started {(second.Timestamp - requeued.Timestamp).TotalMilliseconds:0} ms after attempt 1 failed; the backoff is {delay}");
        Assert.Equal(delay, status.Retry!.InitialDelay);
    }

    [Fact]
    public async Task HandlerRetrySettings_Apply_WhenTheJobSetsNone()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(new JobRequest
        {
            Handler = WorkHandler.PatientName,
            Payload = Payloads.Work(outcome: "retry"),
        }, cts.Token);

        // The handler's backoff is an hour: after the first failure the job waits, Queued, with its next attempt due then.
        var waiting = await WaitForStatusAsync(job.Id, s => s.State == JobState.Queued && s.Attempt == 1, cts.Token);

        Assert.Equal(2, waiting.MaxAttempts);
        Assert.NotNull(waiting.NextAttemptAt);
        var wait = waiting.NextAttemptAt!.Value - DateTimeOffset.UtcNow;
        Assert.InRange(wait, TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(61));
        Assert.Contains("asked to retry", waiting.LastError);
        Assert.Single(fixture.Book.Of(job.Id));
        // The durable backstop: a reminder wakes the job when due even if its activation is lost meanwhile.
        Assert.NotNull(await RetryReminderAsync(job.Id));

        Assert.Equal(CancelOutcome.Cancelled, await Client.CancelAsync(job.Id, "test over", cts.Token));
        Assert.Null(await RetryReminderAsync(job.Id));
    }

    private Task<ReminderEntry?> RetryReminderAsync(JobId id) =>
        fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>()
            .ReadRow(fixture.Cluster.Client.GetGrain<IJobGrain>(id.Value).GetGrainId(), Scheduler.Jobs.JobGrain.RetryReminderName);

    [Fact]
    public async Task JobRetrySettings_OverrideTheHandlers()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(new JobRequest
        {
            Handler = WorkHandler.PatientName,
            Payload = Payloads.Work(outcome: "retry"),
            Limits = new JobLimits { MaxAttempts = 3 },
            Retry = AtOnce,
        }, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(3, status.Attempt);
        Assert.Equal(3, status.MaxAttempts);
        Assert.Equal(DeadLetterReason.AttemptsExhausted, status.DeadLetterReason);
        Assert.Equal(TimeSpan.Zero, status.Retry!.InitialDelay);
        Assert.Equal(RetryJitter.None, status.Retry.Jitter); // not set by the job: the handler's
    }

    [Fact]
    public async Task Exception_IsRetriable_ByDefault()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob(outcome: "throw", maxAttempts: 2) with { Retry = AtOnce }, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(2, status.Attempt);
        Assert.Equal(DeadLetterReason.AttemptsExhausted, status.DeadLetterReason);
        Assert.Contains("handler threw on purpose", status.LastError);
    }

    [Fact]
    public async Task Exception_IsFatal_WhenTheHandlerSaysSo()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(new JobRequest { Handler = WorkHandler.StrictName, Payload = Payloads.Work(outcome: "throw") }, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Failed, status!.State);
        Assert.Equal(1, status.Attempt);
        Assert.Equal(5, status.MaxAttempts);
        Assert.Equal(DeadLetterReason.Fatal, status.DeadLetterReason);
        Assert.Contains("unhandled InvalidOperationException: handler threw on purpose", status.LastError);
        Assert.Single(fixture.Book.Of(job.Id));
    }

    [Fact]
    public async Task DeadLetters_AreListedWithReasonAndLastError_AfterFatalOutcomeAndAfterLastAttempt()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = NewTenant();
        var fatal = await Client.SubmitAsync(Payloads.WorkJob(outcome: "fatal") with { Tenant = tenant }, cts.Token);
        var exhausted = await Client.SubmitAsync(Payloads.WorkJob(outcome: "retry", maxAttempts: 2) with { Tenant = tenant, Retry = AtOnce }, cts.Token);
        var succeeded = await Client.SubmitAsync(Payloads.WorkJob() with { Tenant = tenant }, cts.Token);
        foreach (var id in new[] { fatal.Id, exhausted.Id, succeeded.Id })
            await Client.WaitForFinalAsync(id, Patience, cts.Token);

        var letters = await Client.ListDeadLettersAsync(new DeadLetterFilter { Tenant = tenant }, cts.Token);

        Assert.Equal(2, letters.Count);
        var first = letters.Single(d => d.Id == fatal.Id);
        Assert.Equal(DeadLetterReason.Fatal, first.Reason);
        Assert.Contains("asked to fail", first.LastError);
        Assert.Equal(1, first.Attempt);
        Assert.Equal(WorkHandler.Name, first.Handler);
        var second = letters.Single(d => d.Id == exhausted.Id);
        Assert.Equal(DeadLetterReason.AttemptsExhausted, second.Reason);
        Assert.Contains("attempt 2 of 2 (the last): asked to retry", second.LastError);
        Assert.Equal(2, second.Attempt);

        var report = await Client.InspectDeadLetterAsync(fatal.Id, cts.Token);
        Assert.True(report!.IsDeadLettered);
        Assert.Equal(DeadLetterReason.Fatal, report.Status.DeadLetterReason);
        Assert.Equal([JobState.Queued, JobState.Running, JobState.Failed], report.History.Select(t => t.State));
        Assert.Contains("asked to fail", report.History[^1].Reason);

        Assert.Empty(await Client.ListDeadLettersAsync(new DeadLetterFilter { Tenant = tenant, FailedBefore = DateTimeOffset.UtcNow.AddHours(-1) }, cts.Token));
        Assert.Single(await Client.ListDeadLettersAsync(new DeadLetterFilter { Tenant = tenant, Limit = 1 }, cts.Token));
    }

    [Fact]
    public async Task Requeue_RunsTheJobAgainWithFreshAttempts_UntilItSucceeds()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = NewTenant();
        // Attempts 1 and 2 fail; one attempt per run.
        var job = await Client.SubmitAsync(Payloads.WorkJob(failTimes: 2, maxAttempts: 1) with { Tenant = tenant }, cts.Token);
        Assert.Equal(JobState.Failed, (await Client.WaitForFinalAsync(job.Id, Patience, cts.Token))!.State);

        // Requeued with the budget it was first given (1): attempt 2 fails again.
        Assert.Equal(RequeueOutcome.Requeued, await Client.RequeueAsync(job.Id, cancellationToken: cts.Token));
        var again = await WaitForStatusAsync(job.Id, s => s.State == JobState.Failed && s.Attempt == 2, cts.Token);
        Assert.Equal(2, again.MaxAttempts);

        // Requeued with 3 more attempts: attempt 3 succeeds.
        var results = await Client.RequeueAsync([job.Id], attempts: 3, cts.Token);
        Assert.Equal([new RequeueResult(job.Id, RequeueOutcome.Requeued)], results);
        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(3, status.Attempt);
        Assert.Equal(5, status.MaxAttempts);
        Assert.Null(status.DeadLetterReason);
        Assert.Equal([1, 2, 3], fixture.Book.Of(job.Id).Select(e => e.Attempt));
        var history = await Client.GetHistoryAsync(job.Id, cts.Token);
        Assert.Equal(2, history.Count(t => t.State == JobState.Queued && t.Reason?.StartsWith("requeued from the dead-letter queue", StringComparison.Ordinal) == true));
        Assert.Empty(await Client.ListDeadLettersAsync(new DeadLetterFilter { Tenant = tenant }, cts.Token));
    }

    [Fact]
    public async Task Requeue_LeavesJobsThatAreNotDeadLettered_AndSaysWhy()
    {
        using var cts = new CancellationTokenSource(Patience);
        var done = await Client.SubmitAsync(Payloads.WorkJob(), cts.Token);
        await Client.WaitForFinalAsync(done.Id, Patience, cts.Token);
        var unknown = JobId.New();

        var results = await Client.RequeueAsync([done.Id, unknown], cancellationToken: cts.Token);

        Assert.Equal([new RequeueResult(done.Id, RequeueOutcome.NotDeadLettered), new RequeueResult(unknown, RequeueOutcome.NotFound)], results);
        var status = await Client.GetStatusAsync(done.Id, cts.Token);
        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(1, status.Attempt);
    }

    [Fact]
    public async Task Purge_DeletesTheJobWithItsHistoryAndLog_SoItReadsBackAsNotFound()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = NewTenant();
        var failed = await Client.SubmitAsync(Payloads.WorkJob(outcome: "fatal", tag: "purge") with { Tenant = tenant }, cts.Token);
        var succeeded = await Client.SubmitAsync(Payloads.WorkJob() with { Tenant = tenant }, cts.Token);
        await Client.WaitForFinalAsync(failed.Id, Patience, cts.Token);
        await Client.WaitForFinalAsync(succeeded.Id, Patience, cts.Token);
        Assert.NotEmpty(await Client.GetLogAsync(failed.Id, cancellationToken: cts.Token));

        var results = await Client.PurgeDeadLettersAsync([failed.Id, succeeded.Id], cts.Token);

        Assert.Equal([new PurgeResult(failed.Id, PurgeOutcome.Purged), new PurgeResult(succeeded.Id, PurgeOutcome.NotDeadLettered)], results);
        Assert.Null(await Client.GetStatusAsync(failed.Id, cts.Token));
        Assert.Empty(await Client.GetHistoryAsync(failed.Id, cts.Token));
        Assert.Empty(await Client.GetLogAsync(failed.Id, cancellationToken: cts.Token));
        Assert.Empty(await Client.ListDeadLettersAsync(new DeadLetterFilter { Tenant = tenant }, cts.Token));
        Assert.DoesNotContain(await Client.ListAsync(new JobFilter { Tenant = tenant }, cts.Token), j => j.Id == failed.Id);
        Assert.Equal(RequeueOutcome.NotFound, await Client.RequeueAsync(failed.Id, cancellationToken: cts.Token));
        Assert.Equal([new PurgeResult(failed.Id, PurgeOutcome.NotFound)], await Client.PurgeDeadLettersAsync([failed.Id], cts.Token));
        Assert.Equal(JobState.Succeeded, (await Client.GetStatusAsync(succeeded.Id, cts.Token))!.State);
        Assert.NotEmpty(await Client.GetHistoryAsync(succeeded.Id, cts.Token));
    }

    [Fact]
    public async Task PurgeByFilter_DeletesOnlyTheMatchingDeadLetters()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = NewTenant();
        var jobs = await Client.SubmitManyAsync(
            [.. Enumerable.Range(0, 3).Select(_ => Payloads.WorkJob(outcome: "fatal") with { Tenant = tenant })], cts.Token);
        var other = await Client.SubmitAsync(Payloads.WorkJob(outcome: "fatal") with { Tenant = NewTenant() }, cts.Token);
        foreach (var job in jobs.Append(other))
            await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        var none = await Client.PurgeDeadLettersAsync(new DeadLetterFilter { Tenant = tenant, FailedBefore = DateTimeOffset.UtcNow.AddHours(-1) }, cts.Token);
        var all = await Client.PurgeDeadLettersAsync(new DeadLetterFilter { Tenant = tenant, Limit = 2 }, cts.Token);

        Assert.Equal(0, none);
        Assert.Equal(3, all);
        foreach (var job in jobs)
            Assert.Null(await Client.GetStatusAsync(job.Id, cts.Token));
        Assert.Equal(JobState.Failed, (await Client.GetStatusAsync(other.Id, cts.Token))!.State);
    }

    [Fact]
    public async Task DeadLetterCalls_AreRefusedWithAMessage_WhenTheirInputIsInvalid()
    {
        using var cts = new CancellationTokenSource(Patience);

        var badLimit = await Assert.ThrowsAsync<SchedulerException>(() => Client.ListDeadLettersAsync(new DeadLetterFilter { Limit = 0 }, cts.Token));
        var noIds = await Assert.ThrowsAsync<SchedulerException>(() => Client.RequeueAsync([], cancellationToken: cts.Token));
        var badAttempts = await Assert.ThrowsAsync<SchedulerException>(() => Client.RequeueAsync([JobId.New()], attempts: 0, cts.Token));
        var twice = JobId.New();
        var duplicate = await Assert.ThrowsAsync<SchedulerException>(() => Client.PurgeDeadLettersAsync([twice, twice], cts.Token));
        var badRetry = await Assert.ThrowsAsync<SchedulerException>(() => Client.SubmitAsync(
            Payloads.WorkJob() with { Retry = new RetryPolicy { InitialDelay = TimeSpan.FromMinutes(2), MaxDelay = TimeSpan.FromMinutes(1) } }, cts.Token));

        Assert.All([badLimit, noIds, badAttempts, duplicate, badRetry], e => Assert.Equal(SchedulerErrorCode.InvalidRequest, e.Code));
        Assert.Contains("limit 0 is out of range", badLimit.Message);
        Assert.Contains("give at least one job id", noIds.Message);
        Assert.Contains("attempts 0 is out of range: use 1 to 100", badAttempts.Message);
        Assert.Contains("given more than once", duplicate.Message);
        Assert.Contains("retry max delay 00:01:00 is shorter than the initial delay 00:02:00", badRetry.Message);
    }

    private async Task<JobStatus> WaitForStatusAsync(JobId id, Func<JobStatus, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await Client.GetStatusAsync(id, cancellationToken);
            if (status is not null && condition(status))
                return status;
            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }
}
