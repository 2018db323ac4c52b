using System.Collections.Immutable;
using Scheduler.Workers;

namespace Scheduler.Tests.Unit;

public sealed class LocalKeysTests
{
    private static LocalKeys.Parked Job(int priority = 50, long queuedAt = 0, params string[] keys) =>
        new(new PulledJob(JobId.New(), "default/0"), "default", new QueueEntry(JobId.New(), priority, queuedAt, Keys: [.. keys]));

    private static ImmutableArray<ConcurrencyKey> Held(string key, int? limit) => [new ConcurrencyKey(key, limit)];

    [Fact]
    public void JobWhoseKeyThisSiloFills_IsSetAside_AndTakesTheSlotOfTheHolderThatEnds()
    {
        var keys = new LocalKeys();
        var holder = Job(keys: "upload:1");
        Assert.True(keys.Admit(holder, 0));
        Assert.Empty(keys.Granted(Held("upload:1", 1)));

        var next = Job(keys: "upload:1");
        Assert.False(keys.Admit(next, 0));
        Assert.True(keys.Admit(Job(keys: "upload:2"), 0));

        var (successor, giveBack) = keys.Ended(holder.Keys);
        Assert.Equal(next.Job, successor!.Value.Job);
        Assert.Empty(giveBack);
        Assert.Equal(0, keys.ParkedCount);
    }

    [Fact]
    public void HandlerReturned_HandsTheSlotOnOnlyWhenAJobIsSetAside_ElseTheHolderKeepsItUntilItsEnd()
    {
        var keys = new LocalKeys();
        var holder = Job(keys: "upload:1");
        Assert.True(keys.Admit(holder, 0));

        // Nothing set aside: the holder still counts, so a job pulled before its end is reported is set aside, not refused.
        Assert.False(keys.HandOff(holder.Keys, out _, out _));
        var next = Job(keys: "upload:1");
        Assert.False(keys.Admit(next, 0));

        Assert.True(keys.HandOff(holder.Keys, out var successor, out var giveBack));
        Assert.Equal(next.Job, successor!.Value.Job);
        Assert.Empty(giveBack);
        // The successor now holds the key here: a third job waits for it.
        Assert.False(keys.Admit(Job(keys: "upload:1"), 0));
    }

    [Fact]
    public void JobsSetAside_StartByPriorityThenAge()
    {
        var keys = new LocalKeys();
        var holder = Job(keys: "k");
        keys.Admit(holder, 0);
        var low = Job(priority: 10, queuedAt: 1, keys: "k");
        var older = Job(priority: 90, queuedAt: 2, keys: "k");
        var newer = Job(priority: 90, queuedAt: 3, keys: "k");
        Assert.False(keys.Admit(low, 0));
        Assert.False(keys.Admit(newer, 0));
        Assert.False(keys.Admit(older, 0));

        var first = keys.Ended(holder.Keys).Next!.Value;
        var second = keys.Ended(first.Keys).Next!.Value;
        var third = keys.Ended(second.Keys).Next!.Value;

        Assert.Equal([older.Job, newer.Job, low.Job], [first.Job, second.Job, third.Job]);
    }

    [Fact]
    public void HigherLimitThanAssumed_SendsThoseSetAsideBackToTheirQueues()
    {
        var keys = new LocalKeys();
        keys.Admit(Job(keys: "dbhost:pg1"), 0);
        var waiting = Job(keys: "dbhost:pg1");
        Assert.False(keys.Admit(waiting, 0));

        // The key says its limit is 4: this silo runs one, so the other need not wait here.
        Assert.Equal([waiting.Job], keys.Granted(Held("dbhost:pg1", 4)).Select(p => p.Job));
        Assert.True(keys.Admit(Job(keys: "dbhost:pg1"), 0));
    }

    [Fact]
    public void JobSetAsideOnAKeyNoJobHereHoldsAnyMore_GoesBack_AndNothingIsStranded()
    {
        var keys = new LocalKeys();
        var both = Job(keys: ["a", "b"]);
        keys.Admit(both, 0);
        var onA = Job(keys: "a");
        var onB = Job(keys: "b");
        Assert.False(keys.Admit(onA, 0));
        Assert.False(keys.Admit(onB, 0));

        // One slot frees: one of them takes it; the other's key has no job here left to free it.
        var (next, giveBack) = keys.Ended(both.Keys);

        Assert.Equal(onA.Job, next!.Value.Job);
        Assert.Equal([onB.Job], giveBack.Select(p => p.Job));
        Assert.Equal(0, keys.ParkedCount);
    }

    [Fact]
    public void StoppingSilo_ReturnsEveryJobSetAside_AndSetsNoneAsideAfter()
    {
        var keys = new LocalKeys();
        var holder = Job(keys: "k");
        keys.Admit(holder, 0);
        var parked = Job(keys: "k");
        keys.Admit(parked, 0);

        Assert.Equal([parked.Job], keys.Close().Select(p => p.Job));
        Assert.True(keys.Admit(Job(keys: "k"), 0));
        Assert.Null(keys.Ended(holder.Keys).Next);
    }

    [Fact]
    public void JobSetAsideTooLong_GoesBack_AndPulledAgainGoesToItsKey()
    {
        var keys = new LocalKeys();
        keys.Admit(Job(keys: "k"), 0);
        var early = Job(keys: "k");
        var late = Job(keys: "k");
        Assert.False(keys.Admit(early, 100));
        Assert.False(keys.Admit(late, 200));

        Assert.Equal([early.Job], keys.Expire(before: 150, forgetBefore: 0).Select(p => p.Job));

        // Back from its queue while the key is still full here: it claims the key (and waits there, visibly).
        Assert.True(keys.Admit(early, 300));
        Assert.Equal(1, keys.ParkedCount);
    }
}
