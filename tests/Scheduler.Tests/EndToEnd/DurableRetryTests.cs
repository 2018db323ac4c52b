using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>A retry waiting out its backoff on the embedded store survives a silo restart and runs when due, not before.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DurableRetryTests
{
    [Fact]
    public async Task DelayedRetry_RunsAfterItsDelay_WhenTheSiloRestartsDuringTheBackoff()
    {
        using var cts = EndToEnd.Timeout(150);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with { ShutdownGracePeriod = TimeSpan.FromSeconds(1) };
        var marker = Path.Combine(dir.Path, "ran-once");
        // Fails (retriable exit code 3) the first time, succeeds the second.
        var command = new CommandJob { Executable = "/bin/sh", Arguments = ["-c", $"if [ -e '{marker}' ]; then echo second; exit 0; fi; touch '{marker}'; exit 3"] };
        var backoff = TimeSpan.FromSeconds(25);

        JobId id;
        DateTimeOffset due;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                id = (await client.SubmitCommandAsync(command,
                    r => r with { Retry = new RetryPolicy { InitialDelay = backoff, Jitter = RetryJitter.None } }, cts.Token)).Id;
                var waiting = await EndToEnd.WaitForStatusAsync(client, id, s => s.State == JobState.Queued && s.Attempt == 1, cts.Token);
                due = waiting.NextAttemptAt ?? throw new Xunit.Sdk.XunitException($"no next attempt time: {waiting}");
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
                var afterRestart = await client.GetStatusAsync(id, cts.Token);
                Assert.True(DateTimeOffset.UtcNow < due, $"the restart took longer than the backoff; the test proves nothing: {afterRestart}");
                Assert.True(afterRestart?.State == JobState.Queued && afterRestart.NextAttemptAt == due,
                    $"after the restart the job should still wait for {due:O}: {afterRestart}");

                var status = await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(90), cts.Token);

                Assert.True(status?.State == JobState.Succeeded, $"job {id}: {status}");
                Assert.Equal(2, status!.Attempt);
                var second = (await client.GetHistoryAsync(id, cts.Token)).Single(t => t.State == JobState.Running && t.Attempt == 2);
                Assert.True(second.Timestamp >= due, $"attempt 2 started at {second.Timestamp:O}, before its due time {due:O}");
                var log = await client.GetLogAsync(id, cancellationToken: cts.Token);
                Assert.Contains(log, l => l.Attempt == 2 && l.Text == "second");
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }
}
