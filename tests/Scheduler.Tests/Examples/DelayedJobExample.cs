using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Examples;

/// <summary>The delayed-job example of docs/jobs.md, compiled and run.</summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class DelayedJobExample(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task DelayedJobExample_WaitsMovesAndCancels()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: delayed
        var job = await scheduler.SubmitAsync("example.resize", new ResizeImage("cat.png", 200),
            request => request with { NotBefore = DateTimeOffset.UtcNow.AddHours(3) }, cancellationToken);

        var status = await scheduler.GetStatusAsync(job.Id, cancellationToken); // Queued, NextAttemptAt = its due time
        await scheduler.RescheduleAsync(job.Id, DateTimeOffset.UtcNow.AddMinutes(10), cancellationToken); // moved
        await scheduler.CancelAsync(job.Id, "not needed after all", cancellationToken); // never runs
        // docs: end delayed

        Assert.Equal(JobState.Queued, status!.State);
        Assert.NotNull(status.NextAttemptAt);
        Assert.Equal(JobState.Cancelled, (await scheduler.GetStatusAsync(job.Id, cancellationToken))!.State);
    }
}
