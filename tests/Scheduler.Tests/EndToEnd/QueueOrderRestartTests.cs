using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>A queue's order (size hints, changed priorities) across a restart on the embedded store.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class QueueOrderRestartTests
{
    [Fact]
    public async Task Size_hints_and_changed_priorities_still_order_the_queue_after_a_restart()
    {
        using var cts = EndToEnd.Timeout(120);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            MaxConcurrentJobs = 1,
            ShutdownGracePeriod = TimeSpan.FromSeconds(1),
        };
        static CommandJob Echo(string text) => new() { Executable = "/bin/echo", Arguments = [text] };

        JobId big, small, raised;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                // Holds the only slot; interrupted by the stop, it comes back at the lowest priority, so it runs last.
                var blocker = (await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/sleep", Arguments = ["60"] },
                    r => r with { Priority = JobPriority.Min }, cts.Token)).Id;
                await EndToEnd.WaitForStatusAsync(client, blocker, s => s.State == JobState.Running, cts.Token);
                big = (await client.SubmitCommandAsync(Echo("big"), r => r with { SizeHint = 1_000_000 }, cts.Token)).Id;
                small = (await client.SubmitCommandAsync(Echo("small"), r => r with { SizeHint = 10 }, cts.Token)).Id;
                raised = (await client.SubmitCommandAsync(Echo("raised"), r => r with { SizeHint = 1_000_000 }, cts.Token)).Id;
                await client.ChangePriorityAsync(raised, 90, cts.Token);
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
            await silo.StopAsync(cts.Token);
        }

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                var started = new List<(JobId Id, DateTimeOffset At)>();
                foreach (var id in new[] { big, small, raised })
                {
                    var status = await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), cts.Token);
                    Assert.True(status?.State == JobState.Succeeded, $"job {id}: {status}");
                    started.Add((id, status.StartedAt!.Value));
                }

                Assert.Equal(90, (await client.GetStatusAsync(raised, cts.Token))!.Priority);
                Assert.Equal([raised, small, big], started.OrderBy(s => s.At).Select(s => s.Id));
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }
}
