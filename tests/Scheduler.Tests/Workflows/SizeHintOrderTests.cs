using Scheduler.Jobs;
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

    [Fact]
    public void QueuedAs_PlacesAWorkflowsJobAsOfItsWorkflow_AndOtherJobsAsOfTheirCreation()
    {
        var id = JobId.New();
        var workflowCreated = DateTimeOffset.UtcNow.AddMinutes(-5);
        var jobCreated = DateTimeOffset.UtcNow;
        var ofWorkflow = new JobGrainState { Queue = "default", Tenant = "acme", Shard = 3, Priority = 50, CreatedAt = jobCreated, SizeHint = 12, QueuedAsOf = workflowCreated };
        // Also a job stored before its place was kept in its state.
        var plain = new JobGrainState { Queue = "default", Tenant = "acme", Shard = 3, Priority = 50, CreatedAt = jobCreated };

        Assert.Equal(new QueuedJob(SchedulerOptions.ShardKey("default", 3), new QueueEntry(id, 50, workflowCreated.UtcTicks, 12, "acme")), ofWorkflow.QueuedAs(id));
        Assert.Equal(new QueueEntry(id, 50, jobCreated.UtcTicks, 0, "acme"), plain.QueuedAs(id).Entry);
    }
}
