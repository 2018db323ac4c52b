using Scheduler.Client;
using Scheduler.Tests.Schedules;

namespace Scheduler.Tests.Examples;

// The schedule code shown in docs/schedules.md, compiled and run here so the page cannot drift from the API.

[Collection(ScheduleClusterCollection.Name)]
public sealed class ScheduleExample(Infrastructure.MemoryClusterFixture fixture)
{
    [Fact]
    public async Task SdkScheduleExample_CreatesTriggersAndDescribesTheSchedule()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: schedule
        await scheduler.UpsertScheduleAsync(new ScheduleDefinition
        {
            Id = "nightly-rescan",
            Job = new JobRequest
            {
                Handler = CommandJob.HandlerName,
                Payload = SchedulerClientExtensions.ToPayload(new CommandJob { Executable = "/usr/local/bin/rescan" }),
            },
            Trigger = ScheduleTrigger.FromCron("0 3 * * *", "Europe/Berlin"),
            Jitter = TimeSpan.FromMinutes(2),
            Overlap = ScheduleOverlapPolicy.Skip,       // the default
            Missed = ScheduleMissedPolicy.FireOnce,     // the default
        }, cancellationToken);

        var run = await scheduler.TriggerScheduleAsync("nightly-rescan", cancellationToken);   // one run now
        var schedule = await scheduler.GetScheduleAsync("nightly-rescan", nextOccurrences: 3, cancellationToken);
        foreach (var next in schedule!.NextOccurrences)
            Console.WriteLine($"next: {next:yyyy-MM-dd HH:mm zzz}");                       // in Europe/Berlin
        foreach (var last in schedule.LastRuns)
            Console.WriteLine($"{last.Occurrence:O} {last.Reason} {last.Outcome} job {last.RunId}");
        // docs: end schedule

        Assert.Equal(3, schedule.NextOccurrences.Length);
        Assert.Equal(run.RunId, Assert.Single(schedule.LastRuns).RunId);
        Assert.True(await scheduler.DeleteScheduleAsync("nightly-rescan", cancellationToken));
    }
}
