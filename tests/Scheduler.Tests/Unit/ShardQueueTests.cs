using Scheduler.Queues;

namespace Scheduler.Tests.Unit;

public sealed class ShardQueueTests
{
    private static QueueEntry Entry(int priority, long ticks) => new(JobId.New(), priority, ticks);

    [Fact]
    public void Take_ReturnsHigherPriorityFirst_ThenOldestFirst()
    {
        var queue = new ShardQueue();
        var lowOld = Entry(10, 1);
        var highNew = Entry(90, 5);
        var midOld = Entry(50, 2);
        var midNew = Entry(50, 3);
        foreach (var e in new[] { midNew, lowOld, highNew, midOld })
            queue.Add(e);

        Assert.Equal([highNew, midOld, midNew, lowOld], queue.Take(10, JobPriority.Min).ToArray());
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Take_KeepsArrivalOrder_WhenPriorityAndTimeAreEqual()
    {
        var queue = new ShardQueue();
        var entries = Enumerable.Range(0, 20).Select(_ => Entry(50, 7)).ToList();
        entries.ForEach(e => queue.Add(e));

        Assert.Equal(entries, queue.Take(20, 0).ToArray());
    }

    [Fact]
    public void Take_StopsAtThePriorityFloor()
    {
        var queue = new ShardQueue();
        var high = Entry(80, 1);
        var low = Entry(20, 0);
        queue.Add(high);
        queue.Add(low);

        Assert.Equal([high], queue.Take(10, minPriority: 50).ToArray());
        Assert.Equal(low, queue.Peek);
    }

    [Fact]
    public void Add_IgnoresAJobAlreadyWaiting_AndRemoveTakesItOut()
    {
        var queue = new ShardQueue();
        var entry = Entry(50, 1);

        Assert.True(queue.Add(entry));
        Assert.False(queue.Add(entry with { Priority = 99 }));
        Assert.Equal(1, queue.Count);
        Assert.True(queue.Remove(entry.Id));
        Assert.False(queue.Remove(entry.Id));
        Assert.Null(queue.Peek);
        Assert.True(queue.Add(entry));
    }

    [Fact]
    public void Take_RespectsMax()
    {
        var queue = new ShardQueue();
        for (var i = 0; i < 10; i++)
            queue.Add(Entry(50, i));

        Assert.Equal(3, queue.Take(3, 0).Length);
        Assert.Equal(7, queue.Count);
    }
}
