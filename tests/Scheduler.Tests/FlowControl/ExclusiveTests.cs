using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.FlowControl;

[Collection(FlowClusterCollection.Name)]
public sealed class ExclusiveTests(FlowClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);
    private ISchedulerClient Client => fixture.Client;

    [Theory]
    [InlineData(ExclusiveScope.Queue, FlowClusterFixture.MaintenanceQueue)]
    [InlineData(ExclusiveScope.Cluster, "default")]
    public async Task ExclusiveJob_RunsAlone_AndIsNotStarvedByASteadyStream(ExclusiveScope scope, string queue)
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"excl-{scope}-{Guid.NewGuid():N}";
        using var stopStream = new CancellationTokenSource();
        var stream = new List<SubmitResult>();
        // A steady stream that alone would keep the scope busy forever: each job runs 300 ms, a new one every 50 ms.
        var streaming = Task.Run(async () =>
        {
            while (!stopStream.IsCancellationRequested)
            {
                stream.Add(await Client.SubmitAsync(Payloads.WorkJob(sleepMs: 300, tag: tag) with { Queue = queue }, cts.Token));
                await Task.Delay(50, cts.Token);
            }
        }, cts.Token);
        while (fixture.Book.Tagged(tag).Count < 6)
            await Task.Delay(20, cts.Token);

        var exclusive = await Client.SubmitAsync(Payloads.WorkJob(sleepMs: 500, tag: tag + "-x") with { Queue = queue, Exclusive = scope }, cts.Token);
        var done = await Client.WaitForFinalAsync(exclusive.Id, TimeSpan.FromSeconds(90), cts.Token);
        if (!done!.State.IsFinal())
        {
            // Starved or stuck: say what the scope saw.
            var seen = await fixture.Cluster.Client.GetGrain<IExclusiveScopeGrain>(ExclusiveScopes.Of(scope, queue)!).GetStatus();
            Assert.Fail($"{done.State}, {done.WaitingFor}; {seen.Barrier}, holder running {seen.HolderRunning}, parked {seen.Parked}; {string.Join("; ", seen.Silos)}");
        }
        // Some of the stream must run after it: the scope resumes.
        var after = fixture.Book.Tagged(tag).Count;
        while (fixture.Book.Tagged(tag).Count < after + 3)
            await Task.Delay(20, cts.Token);
        await stopStream.CancelAsync();
        await streaming;
        var statuses = await Task.WhenAll(stream.Select(async j => (await Client.WaitForFinalAsync(j.Id, Patience, cts.Token))!));

        Assert.Equal(JobState.Succeeded, done!.State);
        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        var alone = fixture.Book.Of(exclusive.Id).Single();
        Assert.All(fixture.Book.Tagged(tag), run => Assert.True(run.Ended <= alone.Started || run.Started >= alone.Ended,
            $"job {run.Id} ran {run.Started:O} to {run.Ended:O}, while the exclusive job ran {alone.Started:O} to {alone.Ended:O}"));
        Assert.Contains(fixture.Book.Tagged(tag), run => run.Started >= alone.Ended);
    }

    [Theory]
    [InlineData("queue:")]
    [InlineData("Cluster")]
    [InlineData("upload:4711")]
    public async Task GetExclusiveScope_RefusesAScopeThatDoesNotExist(string scope)
    {
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SchedulerException>(() => Client.GetExclusiveScopeAsync(scope, cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains($"exclusive scope '{scope}' does not exist ('cluster' or 'queue:NAME'", error.Message);
    }

    [Fact]
    public async Task QueueScope_LetsOtherQueuesRun()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"excl-other-{Guid.NewGuid():N}";
        var exclusive = await Client.SubmitAsync(Payloads.WorkJob(sleepMs: 120_000, tag: tag + "-x") with
        {
            Queue = FlowClusterFixture.MaintenanceQueue,
            Exclusive = ExclusiveScope.Queue,
        }, cts.Token);
        while (fixture.Book.Tagged(tag + "-x").Count == 0)
            await Task.Delay(20, cts.Token);
        var held = await Client.SubmitAsync(Payloads.WorkJob(tag: tag + "-held") with { Queue = FlowClusterFixture.MaintenanceQueue }, cts.Token);

        var other = await Client.SubmitAsync(Payloads.WorkJob(tag: tag), cts.Token);

        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(other.Id, Patience, cts.Token))!.State);
        Assert.Empty(fixture.Book.Tagged(tag + "-held"));
        await Client.CancelAsync(exclusive.Id, "test over", cts.Token);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(held.Id, Patience, cts.Token))!.State);
    }

    [Fact]
    public async Task UnknownScope_IsRefused()
    {
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            Client.SubmitAsync(Payloads.WorkJob() with { Exclusive = (ExclusiveScope)7 }, cts.Token));
        Assert.Equal("exclusive scope 7 does not exist: use none, queue or cluster", error.Message);
    }
}
