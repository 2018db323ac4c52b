using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>A delayed job on the embedded store survives a silo restart while it waits, and runs when due, not before.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DurableDelayedJobTests
{
    [Fact]
    public async Task DelayedJob_RunsAfterItsDueTime_WhenTheSiloRestartsWhileItWaits()
    {
        using var cts = EndToEnd.Timeout(150);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with { ShutdownGracePeriod = TimeSpan.FromSeconds(1) };
        var command = new CommandJob { Executable = "/bin/sh", Arguments = ["-c", "echo ran"] };
        var due = DateTimeOffset.MinValue;

        JobId id;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                // Counted from the submit, not from before the silo started: a loaded host takes seconds to start one.
                due = DateTimeOffset.UtcNow.AddSeconds(25);
                id = (await client.SubmitCommandAsync(command, r => r with { NotBefore = due }, cts.Token)).Id;
                var waiting = await client.GetStatusAsync(id, cts.Token);
                Assert.True(waiting?.State == JobState.Queued && waiting.NextAttemptAt == due, $"the job should wait for {due:O}: {waiting}");
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
                Assert.True(DateTimeOffset.UtcNow < due, $"the restart took longer than the delay; the test proves nothing: {afterRestart}");
                Assert.True(afterRestart?.State == JobState.Queued && afterRestart.NextAttemptAt == due,
                    $"after the restart the job should still wait for {due:O}: {afterRestart}");
                var listed = await client.ListAsync(new JobFilter { State = JobState.Queued }, cts.Token);
                Assert.Equal(due, Assert.Single(listed, j => j.Id == id).NextAttemptAt);

                var status = await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(90), cts.Token);

                Assert.True(status?.State == JobState.Succeeded, $"job {id}: {status}");
                Assert.Equal(1, status!.Attempt);
                var started = (await client.GetHistoryAsync(id, cts.Token)).Single(t => t.State == JobState.Running);
                Assert.True(started.Timestamp >= due, $"it started at {started.Timestamp:O}, before its due time {due:O}");
                Assert.Contains(await client.GetLogAsync(id, cancellationToken: cts.Token), l => l.Text == "ran");
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }
}
