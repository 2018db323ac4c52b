using Microsoft.Extensions.DependencyInjection;
using Scheduler.Retention;
using Scheduler.Client;
using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>What a user sees of pruned jobs and workflows through the SDK (in-process silo, in-memory storage).</summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class RetentionClusterTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private ISchedulerClient Client => fixture.Client;

    // The silo's own store, as the retention grain uses it. Pruning up to a moment also takes what other tests of the
    // collection finished before it: they have ended by then (a collection runs one test at a time).
    private IRetentionStore Store => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IRetentionStore>();

    [Fact]
    public async Task TheRetentionGrain_KeepsItsReminderAtTheConfiguredInterval()
    {
        using var cts = new CancellationTokenSource(Patience);
        var grain = fixture.Cluster.Client.GetGrain<IRetentionGrain>(0);

        await grain.Start().WaitAsync(cts.Token);
        var reminder = await fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>()
            .ReadRow(grain.GetGrainId(), RetentionGrain.ReminderName).WaitAsync(cts.Token);

        Assert.NotNull(reminder);
        Assert.Equal(new RetentionOptions().Interval, reminder.Period);
    }

    [Fact]
    public async Task GetStatus_SaysNotFound_ForAPrunedJob_AndItsHistoryAndLogAreGone()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitAsync(Payloads.WorkJob(tag: "retention"), cts.Token);
        var final = await Client.WaitForFinalAsync(submitted.Id, Patience, cts.Token);
        Assert.Equal(JobState.Succeeded, final!.State);

        Assert.True(await Store.PruneJobsAsync(JobState.Succeeded, final.FinishedAt!.Value.AddSeconds(1), 1_000, cts.Token) >= 1);

        Assert.Null(await Client.GetStatusAsync(submitted.Id, cts.Token));
        Assert.Empty(await Client.GetHistoryAsync(submitted.Id, cts.Token));
        Assert.Empty(await Client.GetLogAsync(submitted.Id, cancellationToken: cts.Token));
        Assert.DoesNotContain(await Client.ListAsync(new JobFilter { State = JobState.Succeeded }, cts.Token), j => j.Id == submitted.Id);
    }

    [Fact]
    public async Task APrunedDeadLetter_IsNotFoundToRequeue_AndStaysGone()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitAsync(Payloads.WorkJob(outcome: "fatal", tag: "retention-dead"), cts.Token);
        var final = await Client.WaitForFinalAsync(submitted.Id, Patience, cts.Token);
        Assert.Equal(JobState.Failed, final!.State);

        Assert.True(await Store.PruneJobsAsync(JobState.Failed, final.FinishedAt!.Value.AddSeconds(1), 1_000, cts.Token) >= 1);
        var requeued = await Client.RequeueAsync([submitted.Id], cancellationToken: cts.Token);

        Assert.Equal(RequeueOutcome.NotFound, Assert.Single(requeued).Outcome);
        Assert.Null(await Client.GetStatusAsync(submitted.Id, cts.Token));
        Assert.DoesNotContain(await Client.ListDeadLettersAsync(new DeadLetterFilter(), cts.Token), d => d.Id == submitted.Id);
    }

    [Fact]
    public async Task AWorkflowsJobs_OutliveJobRetention_AndGoWithTheirWorkflow()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Jobs =
            [
                new WorkflowJob { Name = "a", Handler = WorkHandler.Name, Payload = Payloads.Work(tag: "retention-a") },
                new WorkflowJob { Name = "b", Handler = WorkHandler.Name, Payload = Payloads.Work(tag: "retention-b"), DependsOn = ["a"] },
            ],
        }, cts.Token);
        var final = await Client.WaitForWorkflowAsync(submitted.Id, Patience, cts.Token);
        Assert.Equal(WorkflowState.Succeeded, final!.State);
        var jobs = final.Jobs.Select(j => j.JobId!.Value).ToList();
        var cutoff = DateTimeOffset.UtcNow.AddMinutes(1);

        await Store.PruneJobsAsync(JobState.Succeeded, cutoff, 10_000, cts.Token);

        foreach (var job in jobs)
            Assert.Equal(JobState.Succeeded, (await Client.GetStatusAsync(job, cts.Token))!.State);
        Assert.Equal(WorkflowState.Succeeded, (await Client.GetWorkflowAsync(submitted.Id, cts.Token))!.State);

        var pruned = await Store.PruneWorkflowsAsync(WorkflowState.Succeeded, cutoff, 1_000, cts.Token);

        Assert.True(pruned.Workflows >= 1 && pruned.Jobs >= 2, $"pruned {pruned}");
        Assert.Null(await Client.GetWorkflowAsync(submitted.Id, cts.Token));
        foreach (var job in jobs)
        {
            Assert.Null(await Client.GetStatusAsync(job, cts.Token));
            Assert.Empty(await Client.GetHistoryAsync(job, cts.Token));
        }
    }
}
