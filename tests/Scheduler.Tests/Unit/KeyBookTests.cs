using Scheduler.Limits;

namespace Scheduler.Tests.Unit;

public sealed class KeyBookTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static KeyClaim Claim(JobId job, int priority = 50, long queuedAt = 0, int attempt = 1) =>
        new() { Job = job, Attempt = attempt, Priority = priority, QueuedAt = queuedAt };

    [Fact]
    public void Mutex_GrantsOne_AndQueuesTheNext_UntilReleased()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId a = JobId.New(), b = JobId.New();

        Assert.True(book.Claim(Claim(a), T0).Granted);
        var refused = book.Claim(Claim(b), T0);
        Assert.False(refused.Granted);
        Assert.Equal($"waiting for k: 1 of 1 held by {a}", refused.Reason);

        Assert.True(book.Release(a, 1, started: true));
        Assert.Equal([b], book.Pump(T0, TimeSpan.FromSeconds(30), out _));
        Assert.True(book.Claim(Claim(b), T0).Granted);
        Assert.Empty(book.State.Waiters);
    }

    [Fact]
    public void StaleRelease_OfAnOlderAttempt_IsIgnored()
    {
        var book = new KeyBook("k", new FlowKeyState());
        var a = JobId.New();
        Assert.True(book.Claim(Claim(a, attempt: 1), T0).Granted);
        // Attempt 1's release was lost; attempt 2 takes the slot over.
        Assert.True(book.Claim(Claim(a, attempt: 2), T0).Granted);

        Assert.False(book.Release(a, 1, started: true));
        Assert.Equal(2, book.State.Holders[a].Attempt);
        Assert.True(book.Release(a, 2, started: true));
    }

    [Fact]
    public void Pump_WakesTheBestWaiter_AndKeepsItsSlotFromNewcomers()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId holder = JobId.New(), low = JobId.New(), high = JobId.New(), newcomer = JobId.New();
        book.Claim(Claim(holder), T0);
        book.Claim(Claim(low, priority: 10, queuedAt: 1), T0);
        book.Claim(Claim(high, priority: 90, queuedAt: 2), T0);
        book.Release(holder, 1, started: true);

        Assert.Equal([high], book.Pump(T0, TimeSpan.FromSeconds(30), out _));
        Assert.False(book.Claim(Claim(newcomer, priority: 99), T0).Granted);
        Assert.True(book.Claim(Claim(high, priority: 90, queuedAt: 2), T0).Granted);
    }

    [Fact]
    public void RateLimit_CountsStartsInASlidingWindow_AndSaysWhenTheNextMayStart()
    {
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(2, TimeSpan.FromSeconds(60)) } };

        Assert.True(book.Claim(Claim(JobId.New()), T0).Granted);
        Assert.True(book.Claim(Claim(JobId.New()), T0.AddSeconds(10)).Granted);
        var refused = book.Claim(Claim(JobId.New()), T0.AddSeconds(20));

        Assert.False(refused.Granted);
        Assert.Equal(T0.AddSeconds(60), refused.EligibleAt);
        book.Pump(T0.AddSeconds(20), TimeSpan.FromSeconds(30), out var next);
        Assert.Equal(T0.AddSeconds(60), next);
        // Exactly one window after the first start, that start has left the window (t - 60 s, t].
        Assert.Single(book.Pump(T0.AddSeconds(60), TimeSpan.FromSeconds(30), out _));
    }

    [Fact]
    public void UnstartedGrant_IsNotCountedByTheRateLimit()
    {
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(1, TimeSpan.FromSeconds(60)) } };
        var a = JobId.New();
        Assert.True(book.Claim(Claim(a), T0).Granted);

        // Another of its keys was full: it gives the slot back without starting.
        book.Release(a, 1, started: false);

        Assert.True(book.Claim(Claim(JobId.New()), T0.AddSeconds(1)).Granted);
    }
}
