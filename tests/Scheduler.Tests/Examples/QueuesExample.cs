using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Examples;

/// <summary>The SDK examples of docs/queues.md, compiled and run.</summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class QueuesExample(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task QueueOrderExample_Runs()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: queues sdk
        // Who submits it (fair share) and how big it is (small first, within its tenant and priority).
        var small = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["scan a 2 MB upload"] },
            request => request with { Tenant = "team-a", SizeHint = 2_000 },
            cancellationToken);

        // While it waits, it can be made more or less urgent (0 to 100); running or finished jobs are refused.
        try
        {
            await scheduler.ChangePriorityAsync(small.Id, 90, cancellationToken);
        }
        catch (SchedulerException e) when (e.Code == SchedulerErrorCode.InvalidState)
        {
            Console.WriteLine(e.Message); // "job … is running: its priority can change only while it waits"
        }
        // docs: end queues sdk

        Assert.Equal(JobState.Succeeded, (await scheduler.WaitForFinalAsync(small.Id, TimeSpan.FromSeconds(100), cancellationToken))!.State);
    }
}
