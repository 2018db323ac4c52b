using Scheduler.Client;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Protection;

[Collection(ProtectionClusterCollection.Name)]
public sealed class BreakerTests(ProtectionClusterFixture fixture)
{
    private ISchedulerClient Client => fixture.Client;

    private static JobRequest Work(string handler, string outcome = "success", int priority = JobPriority.Default, ConcurrencyKey? key = null) => new()
    {
        Handler = handler,
        Priority = priority,
        Payload = Payloads.Work(outcome: outcome),
        Limits = new JobLimits { MaxAttempts = 1 },
        Concurrency = key is null ? [] : [key],
    };

    private async Task<JobStatus> WaitForAsync(JobId id, Func<JobStatus, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await Client.GetStatusAsync(id, cancellationToken) is { } status && condition(status))
                return status;
            await Task.Delay(50, cancellationToken);
        }
    }

    private async Task<BreakerStatus> WaitForBreakerAsync(string target, Func<BreakerStatus, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await Client.GetBreakerAsync(target, cancellationToken);
            if (condition(status))
                return status;
            await Task.Delay(50, cancellationToken);
        }
    }

    private async Task FailAsync(string handler, int times, CancellationToken cancellationToken, ConcurrencyKey? key = null)
    {
        for (var i = 0; i < times; i++)
        {
            var failing = await Client.SubmitAsync(Work(handler, "fatal", key: key), cancellationToken);
            Assert.Equal(JobState.Failed, (await Client.WaitForFinalAsync(failing.Id, TimeSpan.FromSeconds(30), cancellationToken))?.State);
        }
    }

    [Fact]
    public async Task HandlerBreaker_OpensAfterFailuresInARow_HoldsJobsWithTheirAttempts_AndTheTrialDecides()
    {
        using var cts = Bounded.Timeout(90);
        const string handler = ProtectionClusterFixture.QuickBreakerHandler;
        var target = $"handler:{handler}";
        await Client.ResetBreakerAsync(target, cts.Token);

        await FailAsync(handler, 3, cts.Token);
        var open = await WaitForBreakerAsync(target, b => b.State == BreakerState.Open, cts.Token);
        Assert.StartsWith("3 failures in a row; last error: ", open.Reason);
        Assert.Equal(1, open.Opened);

        // The first trial is the more urgent job, which fails: the breaker opens again; the next trial succeeds.
        var failingTrial = await Client.SubmitAsync(Work(handler, "fatal", priority: 90), cts.Token);
        var goodTrial = await Client.SubmitAsync(Work(handler, priority: 10), cts.Token);
        var held = await WaitForAsync(goodTrial.Id, s => s.WaitingFor is not null, cts.Token);
        Assert.StartsWith($"held by breaker {target}: ", held.WaitingFor);
        Assert.Equal(0, held.Attempt);
        var otherHandler = await Client.SubmitAsync(Work(WorkHandler.Name), cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(otherHandler.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);

        Assert.Equal(JobState.Failed, (await Client.WaitForFinalAsync(failingTrial.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
        var done = await Client.WaitForFinalAsync(goodTrial.Id, TimeSpan.FromSeconds(30), cts.Token);
        Assert.Equal(JobState.Succeeded, done?.State);
        Assert.Equal(1, done!.Attempt);
        var closed = await WaitForBreakerAsync(target, b => b.State == BreakerState.Closed, cts.Token);
        Assert.Equal(0, closed.ConsecutiveFailures);
        Assert.Contains(await Client.ListBreakersAsync(cts.Token), b => b.Target == target && b.State == BreakerState.Closed);
    }

    [Fact]
    public async Task KeyBreaker_OpensOnTheFailureRatio_AndResetReleasesItsHeldJobs()
    {
        using var cts = Bounded.Timeout(90);
        var key = new ConcurrencyKey(ProtectionClusterFixture.BreakerKey, 4);
        var target = $"key:{key.Key}";
        await Client.ResetBreakerAsync(target, cts.Token);

        var ok = await Client.SubmitAsync(Work(WorkHandler.Name, key: key), cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(ok.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
        var ok2 = await Client.SubmitAsync(Work(WorkHandler.Name, key: key), cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(ok2.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
        await FailAsync(WorkHandler.Name, 2, cts.Token, key);

        var open = await WaitForBreakerAsync(target, b => b.State == BreakerState.Open, cts.Token);
        Assert.StartsWith("2 of 4 attempts failed in 1 min", open.Reason);

        var waiting = await Client.SubmitAsync(Work(WorkHandler.Name, key: key), cts.Token);
        Assert.StartsWith($"held by breaker {target}: open until ", (await WaitForAsync(waiting.Id, s => s.WaitingFor is not null, cts.Token)).WaitingFor);

        var reset = await Client.ResetBreakerAsync(target, cts.Token);
        Assert.Equal(BreakerState.Closed, reset.State);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(waiting.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
    }

    [Theory]
    [InlineData("handler:not-configured", "no breaker is configured for handler:not-configured")]
    [InlineData("engine:x", "is not valid: use handler:NAME or key:KEY")]
    [InlineData("key:bad key", "the key is not valid")]
    public async Task Reset_IsRefused_WhenTheBreakerIsNotConfiguredOrMalformed(string target, string message)
    {
        using var cts = Bounded.Timeout(30);
        var error = await Assert.ThrowsAsync<SchedulerException>(() => Client.ResetBreakerAsync(target, cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains(message, error.Message);
    }
}
