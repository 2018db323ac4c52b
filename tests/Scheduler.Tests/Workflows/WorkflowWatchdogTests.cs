using Scheduler.Client;
using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Workflows;

/// <summary>The workflow watchdogs on the embedded store: what a sweep of a bucket frees, and what it leaves alone.</summary>
[Collection(EmbeddedSchedulerCollection.Name)]
public sealed class WorkflowWatchdogTests(EmbeddedSchedulerFixture fixture)
{
    [Fact]
    public async Task Sweep_AppliesTheEndOfAJobWhoseReportNeverCame_OnlyInTheWorkflowsBucket()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var id = WorkflowId.New();
        var bucket = WorkflowRecord.BucketOf(id);
        // The first job exists, running, before its workflow releases it, recorded without the workflow: its end is
        // never reported, like a report lost in a crash.
        var firstJob = id.JobIdOf("first", 1);
        fixture.Runs.Hold(firstJob);
        await fixture.Client.SubmitAsync(new JobRequest { Handler = CountingHandler.Name, Id = firstJob }, cts.Token);
        await fixture.Runs.WaitForRunsAsync(firstJob, 1, cts.Token);
        await fixture.Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Jobs =
            [
                new WorkflowJob { Name = "first", Handler = CountingHandler.Name },
                new WorkflowJob { Name = "second", Handler = CountingHandler.Name, DependsOn = ["first"] },
            ],
        }, cts.Token);
        Assert.Equal(WorkflowJobState.Running, (await fixture.Client.GetWorkflowAsync(id, cts.Token))!.Jobs.Single(j => j.Name == "first").State);
        fixture.Runs.Release(firstJob);
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(firstJob, TimeSpan.FromSeconds(60), cts.Token))!.State);

        // Every other bucket holds nothing to look at (this collection's tests run one at a time, and no other
        // leaves a workflow with jobs out), and sweeping it leaves the stuck workflow as it was.
        var otherBucket = (bucket + 1) % WorkflowRecord.Buckets;
        Assert.Equal(0, await fixture.Cluster.Client.GetGrain<IWorkflowWatchdogGrain>(otherBucket).Sweep().WaitAsync(cts.Token));
        var stuck = await fixture.Client.GetWorkflowAsync(id, cts.Token);
        Assert.Equal(WorkflowState.Running, stuck!.State);
        Assert.Equal(WorkflowJobState.Waiting, stuck.Jobs.Single(j => j.Name == "second").State);

        var swept = await fixture.Cluster.Client.GetGrain<IWorkflowWatchdogGrain>(bucket).Sweep().WaitAsync(cts.Token);
        var status = await fixture.Client.WaitForWorkflowAsync(id, TimeSpan.FromSeconds(60), cts.Token);

        Assert.Equal(1, swept);
        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.All(status.Jobs, j => Assert.Equal(WorkflowJobState.Succeeded, j.State));
        Assert.Equal(1, fixture.Runs.Of(firstJob));
        Assert.Equal(1, fixture.Runs.Of(id.JobIdOf("second", 1)));
        // Finished, the workflow has no jobs out: the next sweep of its bucket finds nothing.
        Assert.Equal(0, await fixture.Cluster.Client.GetGrain<IWorkflowWatchdogGrain>(bucket).Sweep().WaitAsync(cts.Token));
    }
}
