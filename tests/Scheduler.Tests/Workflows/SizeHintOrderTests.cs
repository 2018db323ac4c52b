using Scheduler.Queues;

namespace Scheduler.Tests.Workflows;

public sealed class SizeHintOrderTests
{
    [Fact]
    public void Take_PrefersSmallerWorkflows_AtEqualPriorityOnly()
    {
        var queue = new ShardQueue();
        var bigOld = new QueueEntry(JobId.New(), 50, 1, SizeHint: 5_000);
        var smallNew = new QueueEntry(JobId.New(), 50, 9, SizeHint: 10);
        var plain = new QueueEntry(JobId.New(), 50, 5);
        var urgentBig = new QueueEntry(JobId.New(), 90, 9, SizeHint: 1_000_000);
        foreach (var e in new[] { bigOld, smallNew, plain, urgentBig })
            queue.Add(e);

        Assert.Equal([urgentBig, plain, smallNew, bigOld], queue.Take(10, JobPriority.Min).ToArray());
    }
}
