using Scheduler.Limits;

namespace Scheduler.Tests.Unit;

public sealed class KeyBookTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private static KeyClaim Claim(JobId job, int priority = 50, long queuedAt = 0, int attempt = 1) =>
        new() { Job = job, Attempt = attempt, Priority = priority, QueuedAt = queuedAt, Shard = "default/0" };

    private static KeyAnswer Claim(KeyBook book, KeyClaim claim, DateTimeOffset at) => book.Claim(claim, at, out _);

    private static List<JobId> Handed(KeyBook book, DateTimeOffset at)
    {
        book.Pump(at, Grace, out var handed, out _, out _);
        return [.. handed.Select(w => w.Job)];
    }

    [Fact]
    public void Mutex_GrantsOne_AndQueuesTheNext_UntilReleased()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId a = JobId.New(), b = JobId.New();

        Assert.True(Claim(book, Claim(a), T0).Granted);
        var refused = Claim(book, Claim(b), T0);
        Assert.False(refused.Granted);
        Assert.Equal($"waiting for k: 1 of 1 held by {a}", refused.Reason);

        Assert.True(book.Release(a, 1, started: true, T0));
        // The freed slot is handed to b at once, in the same stored change; b's claim only confirms it.
        Assert.Equal([b], Handed(book, T0));
        Assert.Equal(1, book.State.Holders[b].Attempt);
        Assert.Empty(book.State.Waiters);
        Assert.True(book.IsPending(b));
        Assert.True(book.Claim(Claim(b), T0, out var changed).Granted);
        Assert.False(changed);
        Assert.False(book.IsPending(b));
    }

    [Fact]
    public void StaleRelease_OfAnOlderAttempt_IsIgnored()
    {
        var book = new KeyBook("k", new FlowKeyState());
        var a = JobId.New();
        Assert.True(Claim(book, Claim(a, attempt: 1), T0).Granted);
        // Attempt 1's release was lost; attempt 2 takes the slot over.
        Assert.True(Claim(book, Claim(a, attempt: 2), T0).Granted);

        Assert.False(book.Release(a, 1, started: true, T0));
        Assert.Equal(2, book.State.Holders[a].Attempt);
        Assert.True(book.Release(a, 2, started: true, T0));
    }

    [Fact]
    public void Pump_HandsTheSlotToTheBestWaiter_AndKeepsItFromNewcomers()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId holder = JobId.New(), low = JobId.New(), high = JobId.New(), newcomer = JobId.New();
        Claim(book, Claim(holder), T0);
        Claim(book, Claim(low, priority: 10, queuedAt: 1), T0);
        Claim(book, Claim(high, priority: 90, queuedAt: 2), T0);
        book.Release(holder, 1, started: true, T0);

        Assert.Equal([high], Handed(book, T0));
        Assert.False(Claim(book, Claim(newcomer, priority: 99), T0).Granted);
        Assert.True(Claim(book, Claim(high, priority: 90, queuedAt: 2), T0).Granted);
    }

    [Fact]
    public void HandedSlot_OfAJobThatNoLongerWaits_GoesToTheNext()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId holder = JobId.New(), cancelled = JobId.New(), next = JobId.New();
        Claim(book, Claim(holder), T0);
        Claim(book, Claim(cancelled, queuedAt: 1), T0);
        Claim(book, Claim(next, queuedAt: 2), T0);
        book.Release(holder, 1, started: true, T0);
        Assert.Equal([cancelled], Handed(book, T0));

        // Not back within the grace: told again; it answers that it no longer waits.
        Assert.Equal([cancelled], book.Pump(T0 + Grace, Grace, out _, out _, out _));
        Assert.True(book.Told(cancelled, wants: false, T0 + Grace));
        Assert.Equal([next], Handed(book, T0 + Grace));
    }

    [Fact]
    public void Withdraw_DropsAWaiter_AndGivesBackASlotHandedToIt()
    {
        var book = new KeyBook("k", new FlowKeyState());
        JobId holder = JobId.New(), a = JobId.New(), b = JobId.New();
        Claim(book, Claim(holder), T0);
        Claim(book, Claim(a, queuedAt: 1), T0);
        Claim(book, Claim(b, queuedAt: 2), T0);

        Assert.True(book.Withdraw(b, 1));
        book.Release(holder, 1, started: true, T0);
        Assert.Equal([a], Handed(book, T0));
        Assert.True(book.Withdraw(a, 1));
        Assert.Empty(book.State.Holders);
        Assert.Empty(book.State.Waiters);
    }

    [Fact]
    public void RateLimit_CountsStartsInASlidingWindow_AndSaysWhenTheNextMayStart()
    {
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(2, TimeSpan.FromSeconds(60)) } };

        JobId a = JobId.New(), b = JobId.New();
        Assert.True(Claim(book, Claim(a), T0).Granted);
        Assert.True(book.Started(a, 1, T0));
        Assert.True(Claim(book, Claim(b), T0.AddSeconds(10)).Granted);
        Assert.True(book.Started(b, 1, T0.AddSeconds(10)));
        var refused = Claim(book, Claim(JobId.New()), T0.AddSeconds(20));

        Assert.False(refused.Granted);
        Assert.Equal(T0.AddSeconds(60), refused.EligibleAt);
        book.Pump(T0.AddSeconds(20), Grace, out var none, out var next, out _);
        Assert.Empty(none);
        Assert.Equal(T0.AddSeconds(60), next);
        // Exactly one window after the first start, that start has left the window (t - 60 s, t]: the slot is handed
        // over then and kept from newcomers; the start counts from when the job comes back for it.
        var handed = Assert.Single(Handed(book, T0.AddSeconds(60)));
        Assert.False(Claim(book, Claim(JobId.New()), T0.AddSeconds(60.5)).Granted);
        Assert.Equal(T0.AddSeconds(61), Claim(book, Claim(handed, queuedAt: 0), T0.AddSeconds(61)).GrantedAt);
        Assert.Contains(book.State.RateLog, e => e.Job == handed && e.At == T0.AddSeconds(61));
    }

    [Fact]
    public void RateLimit_CountsAStartFromWhenItsHandlerBegan_NotFromItsGrant()
    {
        // The first start's handler began 5 s after its grant (its writes were slow); the second's at once, at 1 s.
        // Counted from the grants, a third start would be allowed at 60 s, and the handler starts at 1, 5 and 60 s
        // would be three in one window for a rate of two.
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(2, TimeSpan.FromSeconds(60)) } };
        JobId a = JobId.New(), b = JobId.New(), c = JobId.New();
        var first = Claim(book, Claim(a), T0);
        Assert.True(first.Granted && first.RateCounted);
        Assert.True(Claim(book, Claim(b), T0.AddSeconds(1)).Granted);
        book.Started(b, 1, T0.AddSeconds(1));

        // Not reported yet: the first start counts in every window, however long that takes.
        var refused = Claim(book, Claim(c), T0.AddSeconds(4));
        Assert.False(refused.Granted);
        Assert.Equal(T0.AddSeconds(61), refused.EligibleAt);

        book.Started(a, 1, T0.AddSeconds(5));
        Assert.Empty(Handed(book, T0.AddSeconds(60)));
        Assert.Equal([c], Handed(book, T0.AddSeconds(61)));
    }

    [Fact]
    public void RateLimitedStart_WhoseReportIsLost_IsStampedWhenItsSlotComesBack()
    {
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(1, TimeSpan.FromSeconds(60)) } };
        JobId a = JobId.New(), b = JobId.New();
        Assert.True(Claim(book, Claim(a), T0).Granted);

        // Its silo died: the report never came, and the lease ran out 30 s later.
        book.Release(a, 1, started: true, T0.AddSeconds(30));

        Assert.False(Claim(book, Claim(b), T0.AddSeconds(80)).Granted);
        Assert.Equal([b], Handed(book, T0.AddSeconds(90)));
        // A late report of that attempt changes nothing.
        Assert.False(book.Started(a, 1, T0.AddSeconds(95)));
    }

    [Fact]
    public void UnstartedGrant_IsNotCountedByTheRateLimit()
    {
        var book = new KeyBook("api", new FlowKeyState()) { Settings = new KeySettings { Rate = new RateLimit(1, TimeSpan.FromSeconds(60)) } };
        var a = JobId.New();
        Assert.True(Claim(book, Claim(a), T0).Granted);

        // Another of its keys was full: it gives the slot back without starting.
        book.Release(a, 1, started: false, T0);

        Assert.True(Claim(book, Claim(JobId.New()), T0.AddSeconds(1)).Granted);
    }
}
