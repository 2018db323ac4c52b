namespace Scheduler.Tests.Unit;

public sealed class ShardHeadTests
{
    [Fact]
    public void IsNotOlderThan_RejectsAnEarlierVersionOfTheSameActivation()
    {
        var empty = new ShardHead(Version: 11, Count: 0, TopPriority: 0, TopEnqueuedAtTicks: 0, Epoch: 5);
        var refilled = new ShardHead(Version: 12, Count: 1, TopPriority: 50, TopEnqueuedAtTicks: 9, Epoch: 5);

        // A pull's "empty" answer arriving after the watch's newer "non-empty" one must not win.
        Assert.False(empty.IsNotOlderThan(refilled));
        Assert.True(refilled.IsNotOlderThan(empty));
    }

    [Fact]
    public void IsNotOlderThan_AcceptsSameVersion_AndAnyHeadOfALaterActivation()
    {
        var before = new ShardHead(Version: 9_000, Count: 3, TopPriority: 50, TopEnqueuedAtTicks: 1, Epoch: 5);
        var sameVersionFewer = before with { Count = 2 };
        var restarted = new ShardHead(Version: 2, Count: 7, TopPriority: 50, TopEnqueuedAtTicks: 1, Epoch: 6);

        Assert.True(sameVersionFewer.IsNotOlderThan(before));
        Assert.True(restarted.IsNotOlderThan(before));
        Assert.True(restarted.IsNotOlderThan(default));
        Assert.False(before.IsNotOlderThan(restarted));
    }
}
