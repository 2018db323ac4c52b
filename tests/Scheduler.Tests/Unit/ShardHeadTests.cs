namespace Scheduler.Tests.Unit;

public sealed class ShardHeadTests
{
    [Fact]
    public void Supersedes_RejectsAnEarlierVersionOfTheSameActivation()
    {
        var empty = new ShardHead(Version: 11, Count: 0, TopPriority: 0, TopEnqueuedAtTicks: 0, Epoch: 5);
        var refilled = new ShardHead(Version: 12, Count: 1, TopPriority: 50, TopEnqueuedAtTicks: 9, Epoch: 5);

        // A pull's "empty" answer arriving after the watch's newer "non-empty" one must not win.
        Assert.False(empty.Supersedes(refilled));
        Assert.True(refilled.Supersedes(empty));
    }

    [Fact]
    public void Supersedes_WithinOneVersion_PrefersTheLessUrgentHead()
    {
        // Within a version a shard only empties or its top priority falls: the less urgent head is the later one.
        var full = new ShardHead(Version: 9, Count: 3, TopPriority: 50, TopEnqueuedAtTicks: 1, Epoch: 5);
        var fewer = full with { Count = 2 };
        var lower = full with { TopPriority = 20 };
        var drained = full with { Count = 0, TopPriority = 0 };

        Assert.True(fewer.Supersedes(full));
        Assert.True(lower.Supersedes(full));
        Assert.False(full.Supersedes(lower));
        Assert.True(drained.Supersedes(full));
        Assert.False(full.Supersedes(drained));
        Assert.False(lower.Supersedes(drained));
    }

    [Fact]
    public void Supersedes_AnyHeadOfALaterActivation_AndTheUnknownHead()
    {
        var before = new ShardHead(Version: 9_000, Count: 0, TopPriority: 0, TopEnqueuedAtTicks: 1, Epoch: 5);
        var restarted = new ShardHead(Version: 2, Count: 7, TopPriority: 50, TopEnqueuedAtTicks: 1, Epoch: 6);

        Assert.True(restarted.Supersedes(before));
        Assert.True(before.Supersedes(default));
        Assert.False(before.Supersedes(restarted));
    }
}
