using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.FlowControl;

[Collection(FlowClusterCollection.Name)]
public sealed class RateLimitTests(FlowClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private ISchedulerClient Client => fixture.Client;

    [Theory]
    [InlineData(null)]
    [InlineData(1)]
    public async Task RateLimitedKey_NeverStartsMoreThanItsRateInAnyWindow_AndBurnsNoAttempts(int? limit)
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"rate-{Guid.NewGuid():N}";
        var key = $"api:{tag}";
        var rate = new RateLimit(4, TimeSpan.FromSeconds(2));
        await Client.SetKeyLimitsAsync(key, new KeySettings { Limit = limit, Rate = rate }, cts.Token);

        // More jobs than the two silos have slots, so both silos start them.
        var jobs = await Client.SubmitManyAsync([.. Enumerable.Range(0, 14).Select(_ => FlowClusterFixture.Keyed(tag, 50, new ConcurrencyKey(key)) with
        {
            Limits = new JobLimits { MaxAttempts = 1 },
        })], cts.Token);
        var statuses = await Task.WhenAll(jobs.Select(async j => (await Client.WaitForFinalAsync(j.Id, Patience, cts.Token))!));

        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        Assert.All(statuses, s => Assert.Equal(1, s.Attempt));
        // Sliding window (t - 2 s, t]: of any 5 starts in time order, the first and the last are at least 2 s apart.
        var starts = statuses.Select(s => s.StartedAt!.Value).Order().ToList();
        for (var i = 0; i + rate.Count < starts.Count; i++)
            Assert.True(starts[i + rate.Count] - starts[i] >= rate.Window,
                $"starts {i} at {starts[i]:O} and {i + rate.Count} at {starts[i + rate.Count]:O} are in one window of {rate.Window}");
        // The same of the handlers' own starts, as a user calling a rate-limited service sees them: a handler begins
        // some time after its grant, by more for some jobs than for others, and that must not crowd a window either.
        var begun = fixture.Book.Tagged(tag).Select(r => r.Started).Order().ToList();
        Assert.Equal(statuses.Length, begun.Count);
        for (var i = 0; i + rate.Count < begun.Count; i++)
            Assert.True(begun[i + rate.Count] - begun[i] >= rate.Window,
                $"handlers began {i} at {begun[i]:O} and {i + rate.Count} at {begun[i + rate.Count]:O}, in one window of {rate.Window}");
        if (limit is { } max)
            Assert.InRange(FlowClusterFixture.MostAtOnce(fixture.Book.Tagged(tag)), 1, max);
    }

    [Fact]
    public async Task RateLimitedJob_StaysQueued_SayingWhenItMayStart()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"rate-status-{Guid.NewGuid():N}";
        var key = $"api:{tag}";
        // One start per hour: the second job cannot start during the test.
        await Client.SetKeyLimitsAsync(key, new KeySettings { Rate = new RateLimit(1, TimeSpan.FromHours(1)) }, cts.Token);
        var first = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, new ConcurrencyKey(key)), cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(first.Id, Patience, cts.Token))!.State);

        var second = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, new ConcurrencyKey(key)), cts.Token);
        await fixture.WaitForWaitersAsync(key, 1, cts.Token);
        // The key records the waiter before the job hears why it waits.
        var status = await Client.GetStatusAsync(second.Id, cts.Token);
        while (status?.WaitingFor is null)
        {
            await Task.Delay(20, cts.Token);
            status = await Client.GetStatusAsync(second.Id, cts.Token);
        }
        var shown = await Client.GetKeyAsync(key, cts.Token);

        Assert.Equal(JobState.Queued, status!.State);
        Assert.Equal(0, status.Attempt);
        Assert.StartsWith($"waiting for {key}: rate limit of 1 starts per 1 h reached; next start at ", status.WaitingFor);
        Assert.Single(shown.RateWindowStarts);
        Assert.Equal(shown.RateWindowStarts[0] + TimeSpan.FromHours(1), shown.NextRateSlotAt);
        Assert.Equal(CancelOutcome.Cancelled, await Client.CancelAsync(second.Id, null, cts.Token));
    }
}
