using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Jobs;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

/// <summary>Delayed jobs and workflows (<see cref="JobRequest.NotBefore"/>) through the SDK, on the in-memory cluster.</summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class DelayedJobTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ISchedulerClient Client => fixture.Client;

    private static string NewTenant() => "t-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A time the job would not reach during a test: only a move or a cancel lets it end.</summary>
    private static DateTimeOffset Later => DateTimeOffset.UtcNow.AddHours(1);

    [Fact]
    public async Task DelayedJob_WaitsQueuedWithItsDueTime_ThenStartsNoEarlier()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = NewTenant();
        var due = DateTimeOffset.UtcNow.AddSeconds(3);
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { Tenant = tenant, NotBefore = due }, cts.Token);

        Assert.Equal(JobState.Queued, job.State);
        var waiting = await Client.GetStatusAsync(job.Id, cts.Token);
        Assert.Equal((JobState.Queued, due, 0), (waiting!.State, waiting.NextAttemptAt, waiting.Attempt));
        var listed = Assert.Single(await Client.ListAsync(new JobFilter { Tenant = tenant }, cts.Token));
        Assert.Equal((JobState.Queued, due), (listed.State, listed.NextAttemptAt));
        Assert.NotNull(await DueReminderAsync(job.Id));

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Null(status.NextAttemptAt);
        var run = Assert.Single(fixture.Book.Of(job.Id));
        Assert.True(run.Started >= due, $"started at {run.Started:O}, before its due time {due:O}");
        var started = (await Client.GetHistoryAsync(job.Id, cts.Token)).Single(t => t.State == JobState.Running);
        Assert.True(started.Timestamp >= due, $"Running at {started.Timestamp:O}, before its due time {due:O}");
        Assert.Null((await Client.ListAsync(new JobFilter { Tenant = tenant }, cts.Token)).Single().NextAttemptAt);
        Assert.Null(await DueReminderAsync(job.Id));
    }

    [Fact]
    public async Task FarDueTime_IsLeftToTheReminder_WhichFirstTicksAMinuteAhead()
    {
        using var cts = new CancellationTokenSource(Patience);
        var due = Later;
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { NotBefore = due }, cts.Token);

        // Far off, no activation waits with a timer: the reminder wakes the grain in time to arm one.
        var reminder = await DueReminderAsync(job.Id);
        Assert.NotNull(reminder);
        var firstTick = new DateTimeOffset(DateTime.SpecifyKind(reminder.StartAt, DateTimeKind.Utc));
        Assert.InRange(firstTick, due - JobGrain.ReminderLead - TimeSpan.FromSeconds(5), due - JobGrain.ReminderLead + TimeSpan.FromSeconds(5));

        Assert.Equal(CancelOutcome.Cancelled, await Client.CancelAsync(job.Id, "test over", cts.Token));
    }

    [Fact]
    public async Task DelayedJob_CancelledBeforeItsDueTime_NeverRuns_AndDropsItsReminder()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { NotBefore = Later }, cts.Token);

        Assert.Equal(CancelOutcome.Cancelled, await Client.CancelAsync(job.Id, "not needed", cts.Token));

        var status = await Client.GetStatusAsync(job.Id, cts.Token);
        Assert.Equal(JobState.Cancelled, status!.State);
        Assert.Null(status.NextAttemptAt);
        Assert.Null(await DueReminderAsync(job.Id));
        Assert.Empty(fixture.Book.Of(job.Id));
        Assert.Equal(RescheduleOutcome.AlreadyFinal, await Client.RescheduleAsync(job.Id, null, cts.Token));
    }

    [Fact]
    public async Task Reschedule_Earlier_RunsTheJobAtTheNewTime()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { NotBefore = Later }, cts.Token);
        var moved = DateTimeOffset.UtcNow.AddSeconds(2);

        Assert.Equal(RescheduleOutcome.Rescheduled, await Client.RescheduleAsync(job.Id, moved, cts.Token));
        Assert.Equal(moved, (await Client.GetStatusAsync(job.Id, cts.Token))!.NextAttemptAt);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);
        Assert.Equal(JobState.Succeeded, status!.State);
        var run = Assert.Single(fixture.Book.Of(job.Id));
        Assert.True(run.Started >= moved, $"started at {run.Started:O}, before its new due time {moved:O}");
        Assert.Equal(RescheduleOutcome.AlreadyFinal, await Client.RescheduleAsync(job.Id, Later, cts.Token));
    }

    [Fact]
    public async Task Reschedule_Later_KeepsTheJobWaitingPastItsFormerDueTime()
    {
        using var cts = new CancellationTokenSource(Patience);
        var first = DateTimeOffset.UtcNow.AddSeconds(2);
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { NotBefore = first }, cts.Token);
        var moved = Later;

        Assert.Equal(RescheduleOutcome.Rescheduled, await Client.RescheduleAsync(job.Id, moved, cts.Token));
        // Past the former due time, with margin for the timer and a shard offering it: still waiting for the new one.
        await Task.Delay(first - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3), cts.Token);

        var status = await Client.GetStatusAsync(job.Id, cts.Token);
        Assert.Equal((JobState.Queued, moved), (status!.State, status.NextAttemptAt));
        Assert.Empty(fixture.Book.Of(job.Id));

        Assert.Equal(RescheduleOutcome.Rescheduled, await Client.RescheduleAsync(job.Id, null, cts.Token));
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(job.Id, Patience, cts.Token))!.State);
        Assert.Null(await DueReminderAsync(job.Id));
    }

    [Fact]
    public async Task Reschedule_OfAnUnknownJob_IsNotFound()
    {
        using var cts = new CancellationTokenSource(Patience);
        Assert.Equal(RescheduleOutcome.NotFound, await Client.RescheduleAsync(JobId.New(), Later, cts.Token));
    }

    [Fact]
    public async Task PastNotBefore_RunsAtOnce()
    {
        using var cts = new CancellationTokenSource(Patience);
        var job = await Client.SubmitAsync(Payloads.WorkJob() with { NotBefore = DateTimeOffset.UtcNow.AddHours(-1) }, cts.Token);

        var status = await Client.WaitForFinalAsync(job.Id, Patience, cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Null(await DueReminderAsync(job.Id));
    }

    [Fact]
    public async Task NotBefore_TooFarAhead_IsRefused_AndStoresNothing()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = JobId.New();

        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            Client.SubmitAsync(Payloads.WorkJob() with { Id = id, NotBefore = DateTimeOffset.UtcNow.AddYears(20) }, cts.Token));

        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains("too far ahead", error.Message);
        Assert.Null(await Client.GetStatusAsync(id, cts.Token));
    }

    [Fact]
    public async Task DelayedWorkflow_ItsRootsWaitForItsDueTime_AndCanBeMoved()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = Guid.NewGuid().ToString("N")[..8];
        WorkflowJob Work(string name, params WorkflowDependency[] dependsOn) => new()
        {
            Name = name,
            Handler = WorkHandler.Name,
            Payload = Payloads.Work(tag: $"{tag}:{name}"),
            DependsOn = [.. dependsOn],
        };
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            NotBefore = Later,
            Jobs = [Work("a"), Work("b"), Work("c", "a", "b")],
        }, cts.Token);

        var waiting = await Client.GetWorkflowAsync(submitted.Id, cts.Token);
        Assert.NotNull(waiting!.NotBefore);
        var root = await Client.GetStatusAsync(waiting.Jobs.Single(j => j.Name == "a").JobId!.Value, cts.Token);
        Assert.Equal((JobState.Queued, waiting.NotBefore), (root!.State, root.NextAttemptAt));

        var moved = DateTimeOffset.UtcNow.AddSeconds(2);
        Assert.Equal(2, await Client.RescheduleWorkflowAsync(submitted.Id, moved, cts.Token));
        var status = await Client.WaitForWorkflowAsync(submitted.Id, Patience, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.Null(status.NotBefore);
        foreach (var name in new[] { "a", "b", "c" })
        {
            var run = Assert.Single(fixture.Book.Tagged($"{tag}:{name}"));
            Assert.True(run.Started >= moved, $"{name} started at {run.Started:O}, before the workflow's due time {moved:O}");
        }
    }

    private Task<ReminderEntry?> DueReminderAsync(JobId id) =>
        fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>()
            .ReadRow(fixture.Cluster.Client.GetGrain<IJobGrain>(id.Value).GetGrainId(), JobGrain.RetryReminderName);
}
