using Scheduler.Client;
using Scheduler.Tests.FlowControl;

namespace Scheduler.Tests.Examples;

/// <summary>The SDK example of docs/flow-control.md, compiled and run.</summary>
[Collection(FlowClusterCollection.Name)]
public sealed class FlowControlExample(FlowClusterFixture fixture)
{
    [Fact]
    public async Task FossologyStyleExample_Runs()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: flow control sdk
        // One agent at a time per upload, at most four per database host.
        var scan = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["scanning upload 4711"] },
            request => request with { Concurrency = [new ConcurrencyKey("upload:4711"), new ConcurrencyKey("dbhost:pg1", 4)] },
            cancellationToken);

        // The external scanner allows 60 calls a minute, counted across the cluster.
        await scheduler.SetKeyLimitsAsync("api:scanoss", new KeySettings { Rate = new RateLimit(60, TimeSpan.FromMinutes(1)) }, cancellationToken);
        var lookup = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["asking scanoss"] },
            request => request with { Concurrency = [new ConcurrencyKey("api:scanoss")] },
            cancellationToken);

        // Maintenance needs the whole cluster to itself.
        var vacuum = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["vacuum"] },
            request => request with { Exclusive = ExclusiveScope.Cluster },
            cancellationToken);

        var key = await scheduler.GetKeyAsync("upload:4711", cancellationToken); // holders, waiters, rate window
        // docs: end flow control sdk

        Assert.Equal("upload:4711", key.Key);
        foreach (var job in new[] { scan, lookup, vacuum })
            Assert.Equal(JobState.Succeeded, (await scheduler.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(100), cancellationToken))!.State);
    }
}
