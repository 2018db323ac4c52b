using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Workflows;

[CollectionDefinition(Name)]
public sealed class WorkflowClusterCollection : ICollectionFixture<MemoryClusterFixture>
{
    public const string Name = "workflow cluster";
}

/// <summary>Workflows end to end on an in-process silo (in-memory storage, 2 job slots) through the real SDK.</summary>
[Collection(WorkflowClusterCollection.Name)]
public sealed class WorkflowClusterTests(MemoryClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];
    private readonly string _files = Directory.CreateTempSubdirectory("workflow-tests-").FullName;

    private ISchedulerClient Client => fixture.Client;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Opens every gate a failed test may have left closed, so no job keeps a slot of the shared silo.
        foreach (var name in new[] { "gate", "fixed" })
            await File.WriteAllTextAsync(Path.Combine(_files, name), "");
        await Task.Delay(200);
        Directory.Delete(_files, recursive: true);
    }

    private WorkflowJob Work(string name, int sleepMs = 0, string outcome = "success", int maxAttempts = 1, params WorkflowDependency[] dependsOn) => new()
    {
        Name = name,
        Handler = WorkHandler.Name,
        Payload = Payloads.Work(sleepMs, outcome, tag: $"{_tag}:{name}"),
        Limits = new JobLimits { MaxAttempts = maxAttempts },
        DependsOn = [.. dependsOn],
    };

    /// <summary>A command job that runs until the file <paramref name="gate"/> exists.</summary>
    private WorkflowJob Gate(string name, string gate = "gate", params WorkflowDependency[] dependsOn) =>
        WorkflowJobs.Command(name, new CommandJob
        {
            Executable = "/bin/sh",
            Arguments = ["-c", "while [ ! -e \"$0\" ]; do sleep 0.05; done", Path.Combine(_files, gate)],
        }, dependsOn);

    /// <summary>A command job that fails for good unless the file <paramref name="file"/> exists.</summary>
    private WorkflowJob FailsUntil(string name, string file, params WorkflowDependency[] dependsOn) =>
        WorkflowJobs.Command(name, new CommandJob
        {
            Executable = "/bin/sh",
            Arguments = ["-c", "test -e \"$0\"", Path.Combine(_files, file)],
            NonZeroExitIsFatal = true,
        }, dependsOn);

    private void Open(string gate) => File.WriteAllText(Path.Combine(_files, gate), "");

    private Infrastructure.Execution RunOf(string name) => Assert.Single(fixture.Book.Tagged($"{_tag}:{name}"));

    private async Task<WorkflowStatus> FinishAsync(WorkflowId id, CancellationToken cancellationToken)
    {
        var status = await Client.WaitForWorkflowAsync(id, Patience, cancellationToken);
        Assert.NotNull(status);
        Assert.True(status.State.IsFinal(), $"workflow still {status.State}");
        return status;
    }

    private static WorkflowJobStatus JobOf(WorkflowStatus status, string name) => status.Jobs.Single(j => j.Name == name);

    /// <summary>Polls the workflow's status until <paramref name="done"/> holds (a few calls; bounded by the token).</summary>
    private async Task<WorkflowStatus> UntilAsync(WorkflowId id, Func<WorkflowStatus, bool> done, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await Client.GetWorkflowAsync(id, cancellationToken);
            if (status is not null && done(status))
                return status;
            await Task.Delay(50, cancellationToken);
        }
    }

    [Fact]
    public async Task Children_StartOnlyAfterEveryParentSucceeded_InChainsAndDiamonds()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "diamond-then-chain",
            Priority = 80,
            Jobs =
            [
                Work("a", 30), Work("b", 30, dependsOn: "a"), Work("c", 60, dependsOn: "a"), Work("d", 10, dependsOn: ["b", "c"]),
                Work("e", 10, dependsOn: "d"), Work("f", 10, dependsOn: "e"),
            ],
        }, cts.Token);
        Assert.Equal(SubmitOutcome.Accepted, submitted.Outcome);

        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status.State);
        Assert.Equal(6, status.Counts[WorkflowJobState.Succeeded]);
        (string Parent, string Child)[] edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e"), ("e", "f")];
        foreach (var (parent, child) in edges)
            Assert.True(RunOf(child).Started >= RunOf(parent).Ended, $"{child} started before {parent} ended");
        Assert.Equal(["a", "b", "c", "d", "e", "f"], status.Jobs.Select(j => j.Name));
        Assert.Equal(["b", "c"], JobOf(status, "d").DependsOn.ToArray());
        Assert.All(status.Jobs, j => Assert.NotNull(j.StartedAt));
        Assert.All(status.Jobs, j => Assert.NotNull(j.FinishedAt));
        Assert.NotNull(status.StartedAt);
        Assert.NotNull(status.FinishedAt);
        // Jobs inherit the workflow's priority, and their ids are derived from the workflow and the job's name.
        var d = await Client.GetStatusAsync(JobOf(status, "d").JobId!.Value, cts.Token);
        Assert.Equal(80, d!.Priority);
        Assert.Equal(submitted.Id.JobIdOf("d", 1), d.Id);

        var again = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Id = submitted.Id, Jobs = [Work("other")] }, cts.Token);
        Assert.Equal(SubmitOutcome.Existing, again.Outcome);
        Assert.Equal(WorkflowState.Succeeded, again.State);
    }

    [Fact]
    public async Task Jobs_FollowTheirHandlersRetrySettings_WhenTheySetNone()
    {
        using var cts = new CancellationTokenSource(Patience);
        // The strict handler gives its jobs 5 attempts retried at once; the defaults would be 3 attempts, 1 s apart.
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Jobs = [new WorkflowJob { Name = "flaky", Handler = WorkHandler.StrictName, Payload = Payloads.Work(outcome: "retry", tag: $"{_tag}:flaky") }],
        }, cts.Token);

        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Failed, status.State);
        var job = await Client.GetStatusAsync(JobOf(status, "flaky").JobId!.Value, cts.Token);
        Assert.Equal(JobState.Failed, job!.State);
        Assert.Equal(DeadLetterReason.AttemptsExhausted, job.DeadLetterReason);
        Assert.Equal(5, job.MaxAttempts);
        Assert.Equal(5, job.Attempt);
        Assert.Equal(TimeSpan.Zero, job.Retry!.InitialDelay);
        Assert.Equal(5, fixture.Book.Tagged($"{_tag}:flaky").Count);
    }

    [Fact]
    public async Task ReleasedJobs_AreListedAsQueuedWhenTheyCannotStartAtOnce_AndTheirHistoryBeginsQueued()
    {
        using var cts = new CancellationTokenSource(Patience);
        // Both slots of the silo are taken by gates, so the next workflow's jobs wait in the queue.
        var holders = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [Gate("hold1"), Gate("hold2")] }, cts.Token);
        await UntilAsync(holders.Id, s => s.Jobs.All(j => j.State == WorkflowJobState.Running), cts.Token);
        var chain = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [Work("a"), Work("b", dependsOn: "a")] }, cts.Token);
        var a = chain.Id.JobIdOf("a", 1);

        // A released job is first stored when it starts; one that waits is stored as Queued soon (about a second),
        // so listings and counts show it.
        while (!(await Client.ListAsync(new JobFilter { State = JobState.Queued, Limit = JobFilter.MaxLimit }, cts.Token)).Any(j => j.Id == a))
            await Task.Delay(100, cts.Token);
        Assert.Null((await Client.GetStatusAsync(a, cts.Token))!.StartedAt);

        Open("gate");
        Assert.Equal(WorkflowState.Succeeded, (await FinishAsync(chain.Id, cts.Token)).State);
        // b started soon after a ended, so its first write was its start: its history still begins Queued.
        foreach (var job in new[] { a, chain.Id.JobIdOf("b", 1) })
        {
            var history = await Client.GetHistoryAsync(job, cts.Token);
            Assert.Equal([JobState.Queued, JobState.Running, JobState.Succeeded], history.Select(t => t.State));
            Assert.True(history[0].Timestamp <= history[1].Timestamp);
        }
        Assert.Equal(WorkflowState.Succeeded, (await FinishAsync(holders.Id, cts.Token)).State);
    }

    [Fact]
    public async Task FanIn_RunsTheJoinOnce_AfterAllOfManyParents()
    {
        using var cts = new CancellationTokenSource(Patience);
        var parents = Enumerable.Range(0, 40).Select(i => Work($"p{i}")).ToList();
        var join = Work("join", dependsOn: [.. parents.Select(p => (WorkflowDependency)p.Name)]);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [.. parents, join] }, cts.Token);

        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status.State);
        var joinRun = RunOf("join");
        Assert.All(parents, p => Assert.True(joinRun.Started >= RunOf(p.Name).Ended, $"join started before {p.Name} ended"));
    }

    [Fact]
    public async Task FailWorkflow_CancelsJobsThatHaveNotStarted_LetsRunningOnesFinish_AndFails()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            FailurePolicy = WorkflowFailurePolicy.FailWorkflow,
            Jobs = [Gate("slow"), Work("after-slow", dependsOn: "slow"), Work("broken", outcome: "fatal"), Work("after-broken", dependsOn: "broken")],
        }, cts.Token);

        var failed = await UntilAsync(submitted.Id, s => s.State == WorkflowState.Failed, cts.Token);
        Assert.Contains("'broken' failed", failed.Reason);
        Assert.Equal(WorkflowJobState.Running, JobOf(failed, "slow").State);
        Open("gate");
        var status = await UntilAsync(submitted.Id, s => JobOf(s, "slow").State.IsFinal(), cts.Token);

        Assert.Equal(WorkflowState.Failed, status.State);
        Assert.Equal(WorkflowJobState.Succeeded, JobOf(status, "slow").State);
        Assert.Equal(WorkflowJobState.Failed, JobOf(status, "broken").State);
        Assert.Equal(WorkflowJobState.Cancelled, JobOf(status, "after-broken").State);
        Assert.Equal(WorkflowJobState.Cancelled, JobOf(status, "after-slow").State);
        Assert.Empty(fixture.Book.Tagged($"{_tag}:after-broken"));
        Assert.Null(JobOf(status, "after-broken").JobId);
        Assert.NotNull(JobOf(status, "broken").JobId);
        Assert.Empty(fixture.Book.Tagged($"{_tag}:after-slow"));
    }

    [Fact]
    public async Task SkipDescendants_SkipsOnlyTheDescendantsOfADeadLetteredJob()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            FailurePolicy = WorkflowFailurePolicy.SkipDescendants,
            Jobs =
            [
                // Retries until its attempts run out (dead-lettered), then its subtree is skipped.
                Work("flaky", outcome: "retry", maxAttempts: 2), Work("child", dependsOn: "flaky"), Work("grandchild", dependsOn: "child"),
                Work("other"), Work("other-child", dependsOn: "other"),
            ],
        }, cts.Token);

        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Failed, status.State);
        Assert.Equal(2, JobOf(status, "flaky").Attempt);
        Assert.Equal(WorkflowJobState.Skipped, JobOf(status, "child").State);
        Assert.Equal(WorkflowJobState.Skipped, JobOf(status, "grandchild").State);
        Assert.Contains("'flaky' failed", JobOf(status, "child").LastError);
        Assert.Equal(WorkflowJobState.Succeeded, JobOf(status, "other-child").State);
        Assert.Empty(fixture.Book.Tagged($"{_tag}:child"));
        Assert.Equal(1, status.Counts[WorkflowJobState.Failed]);
        Assert.Equal(2, status.Counts[WorkflowJobState.Skipped]);
        Assert.Equal(2, status.Counts[WorkflowJobState.Succeeded]);
    }

    [Fact]
    public async Task RunAnyway_RunsTheChildAfterAFailedParent_AndAfterACancelledOne()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            FailurePolicy = WorkflowFailurePolicy.FailWorkflow,
            Jobs =
            [
                Work("broken", outcome: "fatal"), Gate("stuck"),
                Work("report", dependsOn: [new WorkflowDependency("broken", WorkflowFailurePolicy.RunAnyway), new WorkflowDependency("stuck", WorkflowFailurePolicy.RunAnyway)]),
            ],
        }, cts.Token);
        var running = await UntilAsync(submitted.Id, s => JobOf(s, "stuck").State == WorkflowJobState.Running && JobOf(s, "broken").State.IsFinal(), cts.Token);
        Assert.Equal(WorkflowJobState.Waiting, JobOf(running, "report").State);

        // Cancelling a workflow's job directly: its dependents follow the edge's policy.
        Assert.Equal(CancelOutcome.Requested, await Client.CancelAsync(JobOf(running, "stuck").JobId!.Value, "enough", cts.Token));
        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowJobState.Cancelled, JobOf(status, "stuck").State);
        Assert.Equal(WorkflowJobState.Succeeded, JobOf(status, "report").State);
        Assert.True(RunOf("report").Started >= RunOf("broken").Ended);
        Assert.Equal(WorkflowState.Failed, status.State);
        Assert.Equal("2 of 3 jobs did not succeed", status.Reason);
    }

    [Fact]
    public async Task Submit_RefusesACycle_NamingItsJobs_AndStoresNothing()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = WorkflowId.New();
        var definition = new WorkflowDefinition { Id = id, Jobs = [Work("a", dependsOn: "c"), Work("b", dependsOn: "a"), Work("c", dependsOn: "b"), Work("d")] };

        var refused = await Assert.ThrowsAsync<SchedulerException>(() => Client.SubmitWorkflowAsync(definition, cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, refused.Code);
        Assert.Matches("cycle: (a → b → c → a|b → c → a → b|c → a → b → c)", refused.Message);

        // The silo checks on its own too (a client that skips the SDK's checks gets the same answer).
        var reply = await fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value).Submit(definition).WaitAsync(cts.Token);
        Assert.Contains(reply.Errors, e => e.Message.Contains("cycle"));
        var unknown = await fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value).Submit(definition with { Jobs = [Work("a"), Work("b", dependsOn: "nope")] }).WaitAsync(cts.Token);
        Assert.Contains(unknown.Errors, e => e.Message.Contains("job 'b' depends on 'nope', which is not a job of this workflow"));
        var handler = await fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value).Submit(definition with { Jobs = [new WorkflowJob { Name = "x", Handler = "no.such" }] }).WaitAsync(cts.Token);
        Assert.Contains(handler.Errors, e => e.Code == SchedulerErrorCode.UnknownHandler && e.Message.Contains("job 'x': unknown handler 'no.such'"));

        Assert.Null(await Client.GetWorkflowAsync(id, cts.Token));
        Assert.Null(await Client.GetStatusAsync(id.JobIdOf("d", 1), cts.Token));
        Assert.Empty(fixture.Book.Tagged($"{_tag}:d"));
    }

    [Fact]
    public async Task Pause_HoldsJobsWhoseParentsEnded_AndResumeReleasesThem()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [Gate("first"), Work("second", dependsOn: "first")] }, cts.Token);
        Assert.Equal(WorkflowState.Paused, await Client.PauseWorkflowAsync(submitted.Id, cts.Token));

        Open("gate");
        var paused = await UntilAsync(submitted.Id, s => JobOf(s, "first").State == WorkflowJobState.Succeeded && JobOf(s, "second").State != WorkflowJobState.Waiting, cts.Token);
        Assert.Equal(WorkflowState.Paused, paused.State);
        Assert.Equal(WorkflowJobState.Ready, JobOf(paused, "second").State);
        Assert.Null(JobOf(paused, "second").JobId);
        var pausedAgain = await Assert.ThrowsAsync<SchedulerException>(() => Client.PauseWorkflowAsync(submitted.Id, cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidState, pausedAgain.Code);

        var resumedAt = DateTimeOffset.UtcNow;
        Assert.Equal(WorkflowState.Running, await Client.ResumeWorkflowAsync(submitted.Id, cts.Token));
        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status.State);
        Assert.True(RunOf("second").Started >= resumedAt);
    }

    [Fact]
    public async Task RerunFailed_RunsTheFailedJobAndItsDescendantsAgain_AndKeepsWhatSucceeded()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            FailurePolicy = WorkflowFailurePolicy.SkipDescendants,
            Jobs = [Work("prepare"), FailsUntil("analyse", "fixed", "prepare"), Work("report", dependsOn: "analyse"), Work("side")],
        }, cts.Token);
        var failed = await FinishAsync(submitted.Id, cts.Token);
        Assert.Equal(WorkflowState.Failed, failed.State);
        Assert.Equal(WorkflowJobState.Skipped, JobOf(failed, "report").State);
        var firstAnalyse = JobOf(failed, "analyse").JobId!.Value;

        Open("fixed");
        Assert.Equal(2, await Client.RerunFailedAsync(submitted.Id, cts.Token));
        var status = await FinishAsync(submitted.Id, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status.State);
        Assert.Equal(2, JobOf(status, "analyse").Run);
        Assert.Equal(2, JobOf(status, "report").Run);
        Assert.Equal(1, JobOf(status, "prepare").Run);
        Assert.NotEqual(firstAnalyse, JobOf(status, "analyse").JobId);
        Assert.Equal(JobState.Failed, (await Client.GetStatusAsync(firstAnalyse, cts.Token))!.State);
        RunOf("prepare");
        RunOf("side");
        RunOf("report");
        var nothing = await Assert.ThrowsAsync<SchedulerException>(() => Client.RerunFailedAsync(submitted.Id, cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidState, nothing.Code);
    }

    [Fact]
    public async Task AddToWorkflow_DependsOnFinishedAndRunningJobs_AndIsValidatedAgainstTheGraph()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [Work("done"), Gate("busy")] }, cts.Token);
        await UntilAsync(submitted.Id, s => JobOf(s, "done").State == WorkflowJobState.Succeeded, cts.Token);

        var refused = await Assert.ThrowsAsync<SchedulerException>(() => Client.AddToWorkflowAsync(submitted.Id,
            [Work("done"), Work("x", dependsOn: "y"), Work("y", dependsOn: "x"), Work("z", dependsOn: "ghost")], cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, refused.Code);
        Assert.Contains("'done' is used twice", refused.Message);
        Assert.Contains("cycle", refused.Message);
        Assert.Contains("'z' depends on 'ghost'", refused.Message);

        Assert.Equal(WorkflowState.Running, await Client.AddToWorkflowAsync(submitted.Id,
            [Work("after-done", dependsOn: "done"), Work("after-both", dependsOn: ["busy", "after-done"])], cts.Token));
        // The parent had already succeeded: the new job runs while the other parent is still busy.
        var early = await UntilAsync(submitted.Id, s => JobOf(s, "after-done").State == WorkflowJobState.Succeeded, cts.Token);
        Assert.Equal(WorkflowJobState.Running, JobOf(early, "busy").State);
        Assert.Equal(WorkflowJobState.Waiting, JobOf(early, "after-both").State);

        Open("gate");
        var status = await FinishAsync(submitted.Id, cts.Token);
        Assert.Equal(WorkflowState.Succeeded, status.State);
        Assert.Equal(4, status.Jobs.Length);
        Assert.True(RunOf("after-both").Started >= RunOf("after-done").Ended);
    }

    [Fact]
    public async Task Cancel_CancelsRunningQueuedAndWaitingJobs()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition { Jobs = [Gate("busy"), Work("next", dependsOn: "busy")] }, cts.Token);
        var running = await UntilAsync(submitted.Id, s => JobOf(s, "busy").State == WorkflowJobState.Running, cts.Token);

        Assert.Equal(WorkflowState.Cancelled, await Client.CancelWorkflowAsync(submitted.Id, "upload withdrawn", cts.Token));
        var busy = await Client.WaitForFinalAsync(JobOf(running, "busy").JobId!.Value, Patience, cts.Token);
        var status = await UntilAsync(submitted.Id, s => s.Jobs.All(j => j.State.IsFinal()), cts.Token);

        Assert.Equal(JobState.Cancelled, busy!.State);
        Assert.Equal("cancelled: by its workflow: upload withdrawn", busy.LastError);
        Assert.Equal(WorkflowState.Cancelled, status.State);
        Assert.Equal("cancelled: upload withdrawn", status.Reason);
        Assert.Equal(WorkflowJobState.Cancelled, JobOf(status, "next").State);
        Assert.Empty(fixture.Book.Tagged($"{_tag}:next"));
        var again = await Assert.ThrowsAsync<SchedulerException>(() => Client.CancelWorkflowAsync(submitted.Id, cancellationToken: cts.Token));
        Assert.Equal(SchedulerErrorCode.InvalidState, again.Code);
        var missing = await Assert.ThrowsAsync<SchedulerException>(() => Client.PauseWorkflowAsync(WorkflowId.New(), cts.Token));
        Assert.Equal(SchedulerErrorCode.NotFound, missing.Code);
    }
}

/// <summary>Recovery paths of the workflow grain that a crash would take, provoked directly on the grains.</summary>
[Collection(WorkflowClusterCollection.Name)]
public sealed class WorkflowRecoveryTests(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task Release_OfAJobThatHasAlreadyEnded_AppliesItsEnd_AndGoesOn()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var id = WorkflowId.New();
        // The first job already ran to its end, unknown to the workflow (as when a release is retried after a crash
        // and the job's report to the workflow was lost).
        var firstJob = id.JobIdOf("first", 1);
        await fixture.Cluster.Client.GetGrain<IJobGrain>(firstJob.Value).Submit(new JobRequest { Handler = "noop", Id = firstJob }).WaitAsync(cts.Token);
        await fixture.Cluster.Client.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey("default", new SchedulerOptions().ShardOf(firstJob)))
            .Enqueue([new QueueEntry(firstJob, JobPriority.Default, DateTimeOffset.UtcNow.UtcTicks)]).WaitAsync(cts.Token);
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(firstJob, TimeSpan.FromSeconds(60), cts.Token))!.State);

        await fixture.Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Jobs = [new WorkflowJob { Name = "first", Handler = "noop" }, new WorkflowJob { Name = "second", Handler = "noop", DependsOn = ["first"] }],
        }, cts.Token);
        var status = await fixture.Client.WaitForWorkflowAsync(id, TimeSpan.FromSeconds(60), cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.Equal(firstJob, status.Jobs.Single(j => j.Name == "first").JobId);
        Assert.Equal(WorkflowJobState.Succeeded, status.Jobs.Single(j => j.Name == "second").State);
    }

    [Fact]
    public async Task ReminderTick_AppliesTheEndOfAJobWhoseReportNeverCame()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var id = WorkflowId.New();
        // The job exists before its workflow releases it, recorded without the workflow: its end is never reported,
        // like a report lost in a crash.
        var firstJob = id.JobIdOf("first", 1);
        await fixture.Cluster.Client.GetGrain<IJobGrain>(firstJob.Value).Submit(new JobRequest { Handler = "noop", Id = firstJob }).WaitAsync(cts.Token);
        await fixture.Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Id = id,
            Jobs = [new WorkflowJob { Name = "first", Handler = "noop" }, new WorkflowJob { Name = "second", Handler = "noop", DependsOn = ["first"] }],
        }, cts.Token);
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(firstJob, TimeSpan.FromSeconds(60), cts.Token))!.State);
        var stuck = await fixture.Client.GetWorkflowAsync(id, cts.Token);
        Assert.Equal(WorkflowState.Running, stuck!.State);
        Assert.Equal(WorkflowJobState.Waiting, stuck.Jobs.Single(j => j.Name == "second").State);

        var now = DateTime.UtcNow;
        await fixture.Cluster.Client.GetGrain<IWorkflowGrain>(id.Value).AsReference<IRemindable>()
            .ReceiveReminder("reconcile", new TickStatus(now, TimeSpan.FromMinutes(1), now)).WaitAsync(cts.Token);
        var status = await fixture.Client.WaitForWorkflowAsync(id, TimeSpan.FromSeconds(60), cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.Equal(WorkflowJobState.Succeeded, status.Jobs.Single(j => j.Name == "second").State);
    }
}
