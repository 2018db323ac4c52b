using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// A schedule on the embedded (SQLite) store survives a restart of the whole cluster (its only silo, a process of its
/// own): it resumes after the restart, catches up what it missed as its policy (FireAll) says, and loses no occurrence
/// and runs none twice.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ScheduleRestartTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Schedule_ResumesAfterAClusterRestart_CatchingUp_WithNoOccurrenceLostOrRunTwice()
    {
        using var cts = EndToEnd.Timeout(180);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with { ShutdownGracePeriod = TimeSpan.FromSeconds(1) };
        var definition = new ScheduleDefinition
        {
            Id = "durable-" + Guid.NewGuid().ToString("N")[..8],
            Job = new JobRequest { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(new CommandJob { Executable = "/bin/true" }) },
            Trigger = ScheduleTrigger.Every(Interval),
            Missed = ScheduleMissedPolicy.FireAll,
            Overlap = ScheduleOverlapPolicy.AllowAll,
        };

        DateTimeOffset stoppedAt;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                Assert.Equal(SubmitOutcome.Accepted, await client.UpsertScheduleAsync(definition, cts.Token));
                await WaitForAsync(client, definition.Id, s => s.LastRuns.Count(r => r.Outcome == ScheduleRunOutcome.Succeeded) >= 2, cts.Token);
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
            await silo.StopAsync(cts.Token);
            stoppedAt = DateTimeOffset.UtcNow;
        }

        // Several occurrences pass while nothing runs.
        await Task.Delay(Interval * 4, cts.Token);

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                var status = await WaitForAsync(client, definition.Id,
                    s => s.LastRuns.Count(r => r.Occurrence > stoppedAt && r.Reason == ScheduleFireReason.Scheduled && r.Outcome == ScheduleRunOutcome.Succeeded) >= 2
                        && s.LastRuns.All(r => r.Outcome == ScheduleRunOutcome.Succeeded),
                    cts.Token);

                var runs = status.LastRuns.OrderBy(r => r.Occurrence).ToList();
                var described = $"created {status.CreatedAt:O}, stopped {stoppedAt:O}, runs:\n{string.Join("\n", runs)}";
                // Every occurrence from the first on, each once: the creation plus 1, 2, 3... intervals.
                Assert.True(runs.Select((r, i) => r.Occurrence == status.CreatedAt + Interval * (i + 1)).All(x => x), described);
                // The first occurrence after the stop was at least 6 s late when the restarted silo fired it.
                Assert.True(runs.Any(r => r.Occurrence > stoppedAt && r.Reason == ScheduleFireReason.CatchUp), described);
                Assert.All(runs, r => Assert.Equal(ScheduleRunOutcome.Succeeded, r.Outcome));
                foreach (var run in runs)
                {
                    Assert.Equal(ScheduleIds.RunIdOf(definition.Id, status.CreatedAt, run.Occurrence), run.RunId);
                    // One start of one attempt: the occurrence ran once, whatever re-fired it.
                    var history = await client.GetHistoryAsync(new JobId(run.RunId), cts.Token);
                    Assert.Single(history, t => t.State == JobState.Running);
                }
                Assert.True(await client.DeleteScheduleAsync(definition.Id, cts.Token));
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }

    /// <summary>
    /// An occurrence that falls while the whole cluster is down (the only one before the restart: an hourly schedule
    /// starting a few seconds after its creation) is caught up once with FireOnce, and dropped with Skip.
    /// </summary>
    [Theory]
    [InlineData(ScheduleMissedPolicy.FireOnce)]
    [InlineData(ScheduleMissedPolicy.Skip)]
    public async Task OccurrenceWhileTheClusterIsDown_IsCaughtUpAsTheMissedPolicySays(ScheduleMissedPolicy policy)
    {
        using var cts = EndToEnd.Timeout(150);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with { ShutdownGracePeriod = TimeSpan.FromSeconds(1) };
        ScheduleDefinition Definition(DateTimeOffset start) => new()
        {
            Id = "down-" + Guid.NewGuid().ToString("N")[..8],
            Job = new JobRequest { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(new CommandJob { Executable = "/bin/true" }) },
            Trigger = ScheduleTrigger.Every(TimeSpan.FromHours(1)),
            StartAt = start,
            Missed = policy,
        };

        DateTimeOffset start;
        ScheduleDefinition definition;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                // Counted from here, not from before the silo's start: a slow start on a busy host used up the margin.
                start = DateTimeOffset.UtcNow.AddSeconds(8);
                definition = Definition(start);
                await clientHost.Services.GetRequiredService<ISchedulerClient>().UpsertScheduleAsync(definition, cts.Token);
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
            await silo.StopAsync(cts.Token);
        }
        Assert.True(DateTimeOffset.UtcNow < start, "the silo took too long to stop; the test proves nothing");
        // Down over the occurrence, and back only when it is over 5 s late: a missed one.
        await Task.Delay(start - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(6), cts.Token);

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                if (policy == ScheduleMissedPolicy.FireOnce)
                {
                    var status = await WaitForAsync(client, definition.Id, s => s.LastRuns.Any(r => r.Outcome == ScheduleRunOutcome.Succeeded), cts.Token);
                    var run = Assert.Single(status.LastRuns);
                    Assert.Equal((start, ScheduleFireReason.CatchUp), (run.Occurrence, run.Reason));
                }
                else
                {
                    // A resume of a running schedule fires what is due at once, in its call: with Skip, nothing, then or before.
                    Assert.Empty(await client.ResumeScheduleAsync(definition.Id, cancellationToken: cts.Token));
                    var status = await client.GetScheduleAsync(definition.Id, cancellationToken: cts.Token);
                    Assert.Empty(status!.LastRuns);
                    Assert.Equal(start.AddHours(1), status.NextOccurrences[0]);
                }
                Assert.True(await client.DeleteScheduleAsync(definition.Id, cts.Token));
            }
            finally
            {
                await EndToEnd.StopClientAsync(clientHost);
            }
        }
    }

    private static async Task<ScheduleStatus> WaitForAsync(ISchedulerClient client, string id, Func<ScheduleStatus, bool> done, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await client.GetScheduleAsync(id, cancellationToken: cancellationToken);
            Assert.NotNull(status);
            if (done(status))
                return status;
            await Task.Delay(200, cancellationToken);
        }
    }
}
