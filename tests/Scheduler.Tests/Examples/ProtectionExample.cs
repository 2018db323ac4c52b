using Scheduler.Client;
using Scheduler.Tests.Protection;

namespace Scheduler.Tests.Examples;

/// <summary>The SDK example of docs/protection.md, compiled and run.</summary>
[Collection(ProtectionClusterCollection.Name)]
public sealed class ProtectionExample(ProtectionClusterFixture fixture)
{
    [Fact]
    public async Task GatesBreakersAndOverloadExample_Runs()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: protection sdk
        // Hold the reports queue while its database is migrated: its jobs stay queued and say why.
        await scheduler.PauseGateAsync("queue:reports", "database migration", cancellationToken);
        var report = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["monthly report"] },
            request => request with { Queue = "reports" },
            cancellationToken);
        // ... later: the held jobs go back to their queue, in their order.
        await scheduler.ResumeGateAsync("queue:reports", cancellationToken);

        // A customer left: cancel their queued work.
        long dropped = await scheduler.DropGateAsync("tenant:acme", "contract ended", cancellationToken);

        // Which breakers are open, and why; close one by hand once its service is back.
        foreach (var breaker in await scheduler.ListBreakersAsync(cancellationToken))
            Console.WriteLine($"{breaker.Target}: {breaker.State} {breaker.Reason}");
        await scheduler.ResetBreakerAsync("key:api:down", cancellationToken);

        // A full backlog refuses a submit whole; back off as told (or let the SDK do it:
        // SchedulerClientOptions.OverloadedRetryTimeout).
        try
        {
            await scheduler.SubmitCommandAsync(new CommandJob { Executable = "/bin/echo", Arguments = ["one more"] },
                cancellationToken: cancellationToken);
        }
        catch (OverloadedException e)
        {
            await Task.Delay(e.RetryAfter, cancellationToken);
        }
        // docs: end protection sdk

        Assert.Equal(0, dropped);
        Assert.Equal(JobState.Succeeded, (await scheduler.WaitForFinalAsync(report.Id, TimeSpan.FromSeconds(30), cancellationToken))?.State);
    }
}
