using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>
/// Submitting again, by its id, a job that has finished and whose grain is no longer active. A submit with an explicit
/// id claims it as new, so the job grain's activation skips reading its state; the job's existing row must still win.
/// </summary>
[Collection(EmbeddedSchedulerCollection.Name)]
public sealed class ResubmitFinishedJobTests(EmbeddedSchedulerFixture fixture)
{
    private ISchedulerClient Client => fixture.Client;

    private static JobRequest Counted(JobId id) => new() { Handler = CountingHandler.Name, Id = id };

    /// <summary>Submits a job, waits for it to succeed, and deactivates its grain; returns its history.</summary>
    private async Task<IReadOnlyList<JobTransition>> FinishAndDeactivateAsync(JobId id, CancellationToken cancellationToken)
    {
        Assert.Equal(SubmitOutcome.Accepted, (await Client.SubmitAsync(Counted(id), cancellationToken)).Outcome);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), cancellationToken))!.State);
        // A status read of a finished job deactivates it; make sure it is gone before the next submit arrives.
        Assert.Equal(JobState.Succeeded, (await Client.GetStatusAsync(id, cancellationToken))!.State);
        await fixture.Cluster.DeactivateAsync(fixture.Cluster.Client.GetGrain<IJobGrain>(id.Value)).WaitAsync(cancellationToken);
        return await Client.GetHistoryAsync(id, cancellationToken);
    }

    /// <summary>
    /// Waits for a job submitted now to finish: the fixture's queues have one shard each, first in first out, so any
    /// job queued before it has been taken by then.
    /// </summary>
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var sentinel = JobId.New();
        await Client.SubmitAsync(Counted(sentinel), cancellationToken);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(sentinel, TimeSpan.FromSeconds(60), cancellationToken))!.State);
    }

    [Fact]
    public async Task Submit_ReturnsExistingWithTheFinalState_AndRunsNothing_WhenAFinishedJobIsSubmittedAgainWithItsId()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var id = JobId.New();
        var history = await FinishAndDeactivateAsync(id, cts.Token);

        var again = await Client.SubmitAsync(Counted(id), cts.Token);
        await DrainAsync(cts.Token);

        Assert.Equal(new SubmitResult(id, SubmitOutcome.Existing, JobState.Succeeded), again);
        Assert.Equal(1, fixture.Runs.Of(id));
        Assert.Equal(history, await Client.GetHistoryAsync(id, cts.Token));
        var status = await Client.GetStatusAsync(id, cts.Token);
        Assert.Equal((JobState.Succeeded, 1), (status!.State, status.Attempt));
    }

    [Fact]
    public async Task SubmitMany_ReturnsExistingForFinishedJobsAndAcceptsNewOnes_WhenABatchMixesThem()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var done1 = JobId.New();
        var done2 = JobId.New();
        var history1 = await FinishAndDeactivateAsync(done1, cts.Token);
        var history2 = await FinishAndDeactivateAsync(done2, cts.Token);
        var new1 = JobId.New();
        var new2 = JobId.New();

        var results = await Client.SubmitManyAsync([Counted(new1), Counted(done1), Counted(new2), Counted(done2)], cts.Token);
        foreach (var id in new[] { new1, new2 })
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), cts.Token))!.State);
        await DrainAsync(cts.Token);

        Assert.Equal(
        [
            new SubmitResult(new1, SubmitOutcome.Accepted, JobState.Queued),
            new SubmitResult(done1, SubmitOutcome.Existing, JobState.Succeeded),
            new SubmitResult(new2, SubmitOutcome.Accepted, JobState.Queued),
            new SubmitResult(done2, SubmitOutcome.Existing, JobState.Succeeded),
        ], results);
        Assert.All(new[] { done1, done2, new1, new2 }, id => Assert.Equal(1, fixture.Runs.Of(id)));
        Assert.Equal(history1, await Client.GetHistoryAsync(done1, cts.Token));
        Assert.Equal(history2, await Client.GetHistoryAsync(done2, cts.Token));
    }
}
