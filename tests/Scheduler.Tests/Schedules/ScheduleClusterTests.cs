using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Schedules;

[CollectionDefinition(Name)]
public sealed class ScheduleClusterCollection : ICollectionFixture<MemoryClusterFixture>
{
    public const string Name = "schedule cluster";
}

/// <summary>
/// Schedules end to end on an in-process silo (in-memory storage and reminders) through the real SDK, with second-scale
/// interval schedules: assertions are on counts, ids and outcomes, never on how long something took.
/// </summary>
[Collection(ScheduleClusterCollection.Name)]
public sealed class ScheduleClusterTests(MemoryClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _created = [];

    private ISchedulerClient Client => fixture.Client;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var id in _created)
            await Client.DeleteScheduleAsync(id);
    }

    private ScheduleDefinition Every(TimeSpan interval, int sleepMs = 0, string? suffix = null) => new()
    {
        Id = $"s-{_tag}{suffix}",
        Job = Payloads.WorkJob(sleepMs: sleepMs, tag: $"{_tag}{suffix}", maxAttempts: 1),
        Trigger = ScheduleTrigger.Every(interval),
    };

    private async Task<ScheduleDefinition> CreateAsync(ScheduleDefinition definition)
    {
        _created.Add(definition.Id);
        Assert.Equal(SubmitOutcome.Accepted, await Client.UpsertScheduleAsync(definition));
        return definition;
    }

    /// <summary>Reads the schedule until <paramref name="done"/> holds of it (bounded by <see cref="Patience"/>).</summary>
    private async Task<ScheduleStatus> WaitUntilAsync(string id, Func<ScheduleStatus, bool> done)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (true)
        {
            var status = await Client.GetScheduleAsync(id, cancellationToken: cts.Token);
            Assert.NotNull(status);
            if (done(status))
                return status;
            await Task.Delay(100, cts.Token);
        }
    }

    private static int Count(ScheduleStatus status, ScheduleRunOutcome outcome) => status.LastRuns.Count(r => r.Outcome == outcome);

    [Fact]
    public async Task IntervalSchedule_RunsEachOccurrenceOnce_UnderItsDerivedId()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1)));

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 3);

        var runs = status.LastRuns.Where(r => r.Outcome == ScheduleRunOutcome.Succeeded).ToList();
        Assert.Equal(runs.Count, runs.Select(r => r.Occurrence).Distinct().Count());
        foreach (var run in runs)
        {
            Assert.Equal(ScheduleIds.RunIdOf(definition.Id, status.CreatedAt, run.Occurrence), run.RunId);
            Assert.Single(fixture.Book.Of(new JobId(run.RunId)));
            Assert.Equal(JobState.Succeeded, (await Client.GetStatusAsync(new JobId(run.RunId)))!.State);
        }
        // An interval counts from the creation.
        Assert.All(runs, r => Assert.Equal(0, (r.Occurrence - status.CreatedAt).Ticks % TimeSpan.TicksPerSecond));
    }

    [Fact]
    public async Task Backfill_FiredTwiceAndAfterReactivation_RunsEachOccurrenceOnce()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1)) with { StartAt = DateTimeOffset.UtcNow.AddMinutes(-10).Date });
        await Client.PauseScheduleAsync(definition.Id, "backfill only");
        var to = DateTimeOffset.UtcNow.AddMinutes(-1);
        var from = to.AddSeconds(-4);

        var first = await Client.BackfillScheduleAsync(definition.Id, from, to);
        var second = await Client.BackfillScheduleAsync(definition.Id, from, to);
        // A new activation knows nothing in memory: it must come to the same ids.
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var third = await Client.BackfillScheduleAsync(definition.Id, from, to);

        Assert.InRange(first.Count, 4, 5);
        Assert.All(first, r => Assert.Equal(ScheduleFireReason.Backfill, r.Reason));
        Assert.Equal(first.Select(r => r.RunId), second.Select(r => r.RunId));
        Assert.Equal(first.Select(r => r.RunId), third.Select(r => r.RunId));
        foreach (var run in first)
        {
            var job = new JobId(run.RunId);
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(job, Patience))!.State);
            Assert.Single(fixture.Book.Of(job));
        }
        var status = await WaitUntilAsync(definition.Id, s => s.LastRuns.Count(r => r.Reason == ScheduleFireReason.Backfill && r.Outcome == ScheduleRunOutcome.Succeeded) == first.Count);
        Assert.Equal(first.Count, status.LastRuns.Count(r => r.Reason == ScheduleFireReason.Backfill));
    }

    /// <summary>
    /// A job run is stored only when it starts, so a silo that dies between a firing and the start loses it. The schedule
    /// (here: its row as such a death leaves it, read by a fresh activation) submits the run's id again while retention
    /// cannot have deleted a run that did start; an older one is recorded as failed and not run.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RunLostBeforeItStarted_IsSubmittedAgainOnce_OnlyWhileRetentionCannotHaveDeletedIt(bool recent)
    {
        var services = fixture.Cluster.Silos[0].ServiceProvider;
        var definition = Every(TimeSpan.FromHours(1));
        var now = DateTimeOffset.UtcNow;
        var createdAt = now.AddDays(-10);
        var occurrence = createdAt + TimeSpan.FromHours(240);
        var run = new ScheduleRun
        {
            Occurrence = occurrence,
            RunId = ScheduleIds.RunIdOf(definition.Id, createdAt, occurrence),
            Outcome = ScheduleRunOutcome.Running,
            Reason = ScheduleFireReason.Scheduled,
            // The default retention keeps finished jobs 7 days.
            FiredAt = recent ? now.AddSeconds(-5) : now.AddDays(-8),
        };
        var state = new Scheduler.Schedules.ScheduleGrainState { Definition = definition, CreatedAt = createdAt, HandledUntil = occurrence, RunCount = 1, Runs = [run] };
        var data = services.GetRequiredService<Orleans.Serialization.Serializer>().SerializeToArray(state);
        _created.Add(definition.Id);
        Assert.True(await services.GetRequiredService<Scheduler.Storage.IScheduleStore>().SaveScheduleAsync(new Scheduler.Storage.ScheduleRecord(definition.Id, 1, false, now, data)));

        var status = await WaitUntilAsync(definition.Id, s => s.LastRuns.Single().Outcome != ScheduleRunOutcome.Running);

        var job = new JobId(run.RunId);
        if (recent)
        {
            Assert.Equal(ScheduleRunOutcome.Succeeded, status.LastRuns.Single().Outcome);
            Assert.Single(fixture.Book.Of(job));
            Assert.Equal(1, (await Client.GetStatusAsync(job))!.Attempt);
        }
        else
        {
            Assert.Equal(ScheduleRunOutcome.Failed, status.LastRuns.Single().Outcome);
            Assert.Empty(fixture.Book.Of(job));
            Assert.Null(await Client.GetStatusAsync(job));
        }
    }

    [Fact]
    public async Task PauseTriggerResumeDelete_DoWhatTheySay()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromHours(1)) with { Missed = ScheduleMissedPolicy.Skip });

        await Client.PauseScheduleAsync(definition.Id, "maintenance window");
        var paused = await Client.GetScheduleAsync(definition.Id);
        Assert.True(paused!.Paused);
        Assert.Equal("maintenance window", paused.Note);
        Assert.Empty(paused.NextOccurrences);

        // Trigger works while paused.
        var run = await Client.TriggerScheduleAsync(definition.Id);
        Assert.Equal(ScheduleFireReason.Manual, run.Reason);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(new JobId(run.RunId), Patience))!.State);
        await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) == 1);

        Assert.Empty(await Client.ResumeScheduleAsync(definition.Id, "done"));
        var resumed = await Client.GetScheduleAsync(definition.Id, nextOccurrences: 3);
        Assert.False(resumed!.Paused);
        Assert.Equal("done", resumed.Note);
        Assert.Equal(3, resumed.NextOccurrences.Length);
        Assert.Contains(await Client.ListSchedulesAsync(), s => s.Id == definition.Id);

        Assert.True(await Client.DeleteScheduleAsync(definition.Id));
        Assert.Null(await Client.GetScheduleAsync(definition.Id));
        Assert.DoesNotContain(await Client.ListSchedulesAsync(), s => s.Id == definition.Id);
        Assert.False(await Client.DeleteScheduleAsync(definition.Id));
        var error = await Assert.ThrowsAsync<SchedulerException>(() => Client.TriggerScheduleAsync(definition.Id));
        Assert.Equal(SchedulerErrorCode.NotFound, error.Code);
    }

    [Fact]
    public async Task Upsert_OfAnExistingSchedule_UpdatesItAndKeepsItsRuns()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromHours(1)));
        var run = await Client.TriggerScheduleAsync(definition.Id);

        Assert.Equal(SubmitOutcome.Existing, await Client.UpsertScheduleAsync(definition with { Trigger = ScheduleTrigger.FromCron("0 3 * * *", "Europe/Berlin") }));

        var status = await Client.GetScheduleAsync(definition.Id);
        Assert.Equal("0 3 * * *", status!.Definition.Trigger.Cron);
        Assert.Contains(status.LastRuns, r => r.RunId == run.RunId);
        Assert.All(status.NextOccurrences, o => Assert.Equal(3, o.Hour));
    }

    [Fact]
    public async Task MaxRuns_StopsTheSchedule()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1)) with { MaxRuns = 2 });

        var status = await WaitUntilAsync(definition.Id, s => s.Ended && Count(s, ScheduleRunOutcome.Running) == 0);
        await Task.Delay(1500);
        status = (await Client.GetScheduleAsync(definition.Id))!;

        Assert.Equal(2, status.RunCount);
        Assert.Equal(2, fixture.Book.Tagged(_tag).Count);
        Assert.Empty(status.NextOccurrences);
    }

    [Theory]
    [InlineData(ScheduleMissedPolicy.FireOnce)]
    [InlineData(ScheduleMissedPolicy.FireAll)]
    [InlineData(ScheduleMissedPolicy.Skip)]
    public async Task Resume_AfterAPause_CatchesUpAsTheMissedPolicySays(ScheduleMissedPolicy policy)
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1)) with { Missed = policy, Overlap = ScheduleOverlapPolicy.AllowAll });
        await Client.PauseScheduleAsync(definition.Id);
        await Task.Delay(3500); // at least 3 occurrences pass while paused

        var runs = await Client.ResumeScheduleAsync(definition.Id);

        switch (policy)
        {
            case ScheduleMissedPolicy.FireOnce:
                Assert.Equal(ScheduleFireReason.CatchUp, Assert.Single(runs).Reason);
                break;
            case ScheduleMissedPolicy.FireAll:
                Assert.True(runs.Count >= 3, $"expected every missed occurrence, got {runs.Count}");
                Assert.All(runs, r => Assert.Equal(ScheduleFireReason.CatchUp, r.Reason));
                Assert.Equal(runs.Count, runs.Select(r => r.Occurrence).Distinct().Count());
                break;
            case ScheduleMissedPolicy.Skip:
                Assert.Empty(runs);
                break;
        }
    }

    [Fact]
    public async Task OverlapSkip_NeverRunsTwoAtOnce_AndRecordsSkippedOccurrences()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1), sleepMs: 2500));

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 2 && Count(s, ScheduleRunOutcome.Skipped) >= 2);
        await Client.PauseScheduleAsync(definition.Id);

        Assert.DoesNotContain(status.LastRuns, r => r.Outcome == ScheduleRunOutcome.Buffered);
        AssertNoOverlap(fixture.Book.Tagged(_tag));
    }

    [Fact]
    public async Task OverlapBufferOne_StartsTheWaitingOccurrenceWhenThePreviousEnds()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1), sleepMs: 2500) with { Overlap = ScheduleOverlapPolicy.BufferOne });

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 2 && Count(s, ScheduleRunOutcome.Skipped) >= 1);
        await Client.PauseScheduleAsync(definition.Id);

        Assert.True(Count(status, ScheduleRunOutcome.Buffered) <= 1);
        // The second run is an occurrence that came while the first ran: it was buffered, not skipped.
        var succeeded = status.LastRuns.Where(r => r.Outcome == ScheduleRunOutcome.Succeeded).OrderBy(r => r.Occurrence).ToList();
        Assert.True(succeeded[1].Occurrence < succeeded[0].Occurrence.AddSeconds(2.5), "the buffered occurrence came while the first ran");
        AssertNoOverlap(fixture.Book.Tagged(_tag));
    }

    [Fact]
    public async Task OverlapAllowAll_RunsOccurrencesSideBySide()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(1), sleepMs: 2500) with { Overlap = ScheduleOverlapPolicy.AllowAll });

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 3);
        await Client.PauseScheduleAsync(definition.Id);

        Assert.Equal(0, Count(status, ScheduleRunOutcome.Skipped));
        var runs = fixture.Book.Tagged(_tag);
        Assert.Contains(runs, a => runs.Any(b => b != a && b.Started > a.Started && b.Started < a.Ended));
    }

    [Fact]
    public async Task OverlapCancelPrevious_CancelsTheRunningRun()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(2), sleepMs: 60_000) with { Overlap = ScheduleOverlapPolicy.CancelPrevious });

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Cancelled) >= 1);
        await Client.PauseScheduleAsync(definition.Id);
        foreach (var run in status.LastRuns.Where(r => r.Outcome == ScheduleRunOutcome.Running))
            await Client.CancelAsync(new JobId(run.RunId), "test over");

        var cancelled = status.LastRuns.First(r => r.Outcome == ScheduleRunOutcome.Cancelled);
        Assert.Equal(JobState.Cancelled, (await Client.GetStatusAsync(new JobId(cancelled.RunId)))!.State);
        Assert.Contains(status.LastRuns, r => r.Occurrence > cancelled.Occurrence && r.Outcome is ScheduleRunOutcome.Running or ScheduleRunOutcome.Cancelled);
    }

    [Fact]
    public async Task WorkflowTemplate_RunsAWorkflowPerOccurrence()
    {
        var definition = await CreateAsync(new ScheduleDefinition
        {
            Id = $"w-{_tag}",
            Workflow = new WorkflowDefinition
            {
                Name = "nightly",
                Jobs =
                [
                    new WorkflowJob { Name = "a", Handler = WorkHandler.Name, Payload = Payloads.Work(tag: $"{_tag}:a") },
                    new WorkflowJob { Name = "b", Handler = WorkHandler.Name, Payload = Payloads.Work(tag: $"{_tag}:b"), DependsOn = ["a"] },
                ],
            },
            Trigger = ScheduleTrigger.FromCron("* * * * * *"),
        });

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 2);
        await Client.PauseScheduleAsync(definition.Id);

        var run = status.LastRuns.First(r => r.Outcome == ScheduleRunOutcome.Succeeded);
        Assert.True(run.IsWorkflow);
        Assert.Equal(WorkflowState.Succeeded, (await Client.GetWorkflowAsync(new WorkflowId(run.RunId)))!.State);
    }

    [Fact]
    public async Task Jitter_DelaysEachRunByItsOccurrencesAmount_KeepingTheOccurrencesId()
    {
        var definition = await CreateAsync(Every(TimeSpan.FromSeconds(2)) with { Jitter = TimeSpan.FromMilliseconds(1500) });

        var status = await WaitUntilAsync(definition.Id, s => Count(s, ScheduleRunOutcome.Succeeded) >= 2);
        await Client.PauseScheduleAsync(definition.Id);

        foreach (var run in status.LastRuns.Where(r => r.Outcome == ScheduleRunOutcome.Succeeded))
        {
            var delay = ScheduleIds.JitterOf(definition.Id, run.Occurrence, definition.Jitter);
            // FiredAt is ahead of its time with Scheduler:ScheduleLead set: the start is what the jitter delays.
            var job = await Client.GetStatusAsync(new JobId(run.RunId));
            Assert.True(job?.StartedAt >= run.Occurrence + delay, $"{run} started at {job?.StartedAt:O}, before its jitter of {delay} passed");
            Assert.Equal(ScheduleIds.RunIdOf(definition.Id, status.CreatedAt, run.Occurrence), run.RunId);
        }
    }

    [Fact]
    public async Task BadInput_IsRefusedWithWhatToFix_AndStoresNothing()
    {
        var bad = Every(TimeSpan.FromSeconds(1)) with { Trigger = ScheduleTrigger.FromCron("0 25 * * *", "Europe/Berlin") };
        var error = await Assert.ThrowsAsync<SchedulerException>(() => Client.UpsertScheduleAsync(bad));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains("cron field 2 (hour) is '25'", error.Message);

        // What only the silos know is checked by the schedule's grain.
        var unknown = Every(TimeSpan.FromSeconds(1)) with { Job = new JobRequest { Handler = "no.such.handler" } };
        error = await Assert.ThrowsAsync<SchedulerException>(() => Client.UpsertScheduleAsync(unknown));
        Assert.Equal(SchedulerErrorCode.UnknownHandler, error.Code);
        Assert.Contains("job template: unknown handler 'no.such.handler'", error.Message);

        Assert.Null(await Client.GetScheduleAsync(bad.Id));
        Assert.DoesNotContain(await Client.ListSchedulesAsync(), s => s.Id == bad.Id);
    }

    private static void AssertNoOverlap(IReadOnlyList<Scheduler.Tests.Infrastructure.Execution> runs)
    {
        var ordered = runs.OrderBy(r => r.Started).ToList();
        for (var i = 1; i < ordered.Count; i++)
            Assert.True(ordered[i - 1].Ended is { } ended && ended <= ordered[i].Started, $"run {i} started before run {i - 1} ended");
    }
}
