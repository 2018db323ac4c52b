using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>The embedded store across a silo restart: a new host on the same data directory, service id and ports.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DurableRestartTests
{
    [Fact]
    public async Task Restart_KeepsFinishedJobsAndRunsQueuedAndInterruptedOnes_WhenEmbeddedStoreIsReused()
    {
        using var cts = EndToEnd.Timeout(90);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            MaxConcurrentJobs = 1,
            ShutdownGracePeriod = TimeSpan.FromSeconds(1),
        };

        JobId finished, interrupted;
        var queued = new List<JobId>();
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();

                finished = (await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/echo", Arguments = ["before restart"] },
                    cancellationToken: cts.Token)).Id;
                var done = await client.WaitForFinalAsync(finished, TimeSpan.FromSeconds(30), cts.Token);
                Assert.Equal(JobState.Succeeded, done?.State);

                interrupted = (await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/sleep", Arguments = ["5"] },
                    cancellationToken: cts.Token)).Id;
                await EndToEnd.WaitForStatusAsync(client, interrupted, s => s.State == JobState.Running, cts.Token);
                for (var i = 0; i < 5; i++)
                {
                    queued.Add((await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/echo", Arguments = [$"queued {i}"] },
                        cancellationToken: cts.Token)).Id);
                }
                foreach (var id in queued)
                    Assert.Equal(JobState.Queued, (await client.GetStatusAsync(id, cts.Token))?.State);
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }

            // The grace period (1 s) is shorter than the sleep: the running attempt is interrupted.
            await silo.StopAsync(cts.Token);
        }

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();

                var before = await client.GetStatusAsync(finished, cts.Token);
                Assert.Equal(JobState.Succeeded, before?.State);
                Assert.Equal(1, before!.Attempt);
                var log = await client.GetLogAsync(finished, cancellationToken: cts.Token);
                Assert.Contains(log, l => l.Stream == LogStream.StdOut && l.Text == "before restart");

                foreach (var id in queued)
                {
                    var status = await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(40), cts.Token);
                    Assert.True(status?.State == JobState.Succeeded, $"queued job {id}: {status}");
                }

                var rerun = await client.WaitForFinalAsync(interrupted, TimeSpan.FromSeconds(40), cts.Token);
                Assert.True(rerun?.State == JobState.Succeeded, $"interrupted job {interrupted}: {rerun}");
                Assert.True(rerun!.Attempt >= 2, $"interrupted job {interrupted} did not run again: {rerun}");
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }
}
