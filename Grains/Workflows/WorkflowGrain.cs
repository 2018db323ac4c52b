using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Storage;
using Scheduler.Workflows;

namespace Scheduler.Workflows;

/// <summary>
/// One workflow. Holds the graph and each job's state, and releases a job (submits it through the
/// <see cref="JobSubmitter"/>) when its parents have ended as its dependencies require. Jobs report their final state one-way
/// (<see cref="JobFinished"/>); what such a message may lose is recovered by reconciling with the jobs: on activation,
/// and when the <see cref="WorkflowWatchdogGrain"/> of the workflow's bucket finds it has had jobs out, unchanged, for a
/// while. (Workflows stored before schema version 5 may still hold a reminder of their own: its next tick removes it.)
/// </summary>
public sealed partial class WorkflowGrain(
    [PersistentState(WorkflowGrainStorage.StateName, WorkflowGrainStorage.ProviderName)] IPersistentState<WorkflowGrainState> state,
    JobHandlerRegistry handlers,
    JobSubmitter submitter,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<WorkflowGrain> logger) : Grain, IWorkflowGrain, IRemindable
{
    private const string LegacyReminderName = "reconcile";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>How long a workflow's progress from its jobs' reports may stay in memory only before it is stored.</summary>
    public static readonly TimeSpan CheckpointDelay = TimeSpan.FromSeconds(2);

    private readonly SchedulerOptions _options = options.Value;
    private WorkflowGraph _graph = null!;
    private TaskCompletionSource? _final;
    private IGrainTimer? _retryTimer;

    // When this activation last checked its released jobs (so a watchdog call right after activation adds nothing).
    private DateTimeOffset _reconciledAt;

    // The latest state write: a final state is reported as final only once it is stored.
    private Task? _writing;

    // Progress applied from job reports and not stored yet (see ApplyAsync), and the timer that stores it.
    private bool _unsaved;
    private IGrainTimer? _checkpointTimer;

    // The reason given to the latest Cancel, for the jobs it cancels.
    private string? _cancelDetail;

    // Job reports received and not yet applied: applied together by the next turn of _flushTimer.
    private readonly List<WorkflowJobEvent> _reports = [];
    private IGrainTimer? _flushTimer;

    private WorkflowId Id => new(this.GetPrimaryKey());
    private WorkflowGrainState Workflow => state.State;
    private bool Exists => Workflow.State != 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _graph = new WorkflowGraph(Id, Workflow);
        // A former activation may have died between storing a release and submitting the jobs, or a job's report may
        // have been lost: check every released job once.
        if (Exists && _graph.Released > 0)
        {
            try
            {
                await ReconcileAsync(requeue: true);
            }
            catch (Exception e)
            {
                // Storage or a job's silo may be briefly unavailable: the activation still serves, and tries again soon.
                LogApplyFailed(logger, e, Id);
                ScheduleRetry();
            }
        }
    }

    public async Task<WorkflowReply> Submit(WorkflowDefinition definition)
    {
        if (Exists)
            return new WorkflowReply { State = Workflow.State, Outcome = SubmitOutcome.Existing, Affected = 0 };
        var errors = WorkflowValidation.Check(definition, _options.MaxPayloadBytes);
        if (errors.IsEmpty)
            errors = SiloCheck(definition.Jobs);
        if (!errors.IsEmpty)
        {
            DeactivateOnIdle();
            return new WorkflowReply { Errors = errors };
        }

        var now = time.GetUtcNow();
        Workflow.Name = definition.Name;
        Workflow.Tenant = definition.Tenant;
        Workflow.Priority = definition.Priority;
        Workflow.SizeHint = definition.SizeHint ?? 0;
        Workflow.FailurePolicy = definition.FailurePolicy;
        Workflow.NotBefore = definition.NotBefore > now ? definition.NotBefore : null;
        Workflow.Webhook = definition.Webhook;
        Workflow.CreatedAt = now;
        Workflow.State = WorkflowState.Running;
        var effects = _graph.Add(definition.Jobs, now);
        // Recorded before its first jobs exist: a workflow whose submit failed has no jobs running for it.
        await ApplyAsync(effects);
        LogSubmitted(logger, Id, definition.Jobs.Length, effects.Release.Count);
        return new WorkflowReply { State = Workflow.State, Outcome = SubmitOutcome.Accepted, Affected = definition.Jobs.Length };
    }

    public Task JobFinished(WorkflowJobEvent finished)
    {
        if (!Exists || _graph.NodeOf(finished.Job) is null)
            return Task.CompletedTask;
        // Reports that arrive close together (a fan-in, parallel branches ending) are applied with one state write.
        _reports.Add(finished);
        _flushTimer ??= this.RegisterGrainTimer(static (self, _) => self.FlushReportsAsync(), this,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan });
        return Task.CompletedTask;
    }

    private async Task FlushReportsAsync()
    {
        _flushTimer?.Dispose();
        _flushTimer = null;
        var reports = _reports.ToArray();
        _reports.Clear();
        var effects = new WorkflowEffects();
        var now = time.GetUtcNow();
        foreach (var report in reports)
        {
            if (_graph.NodeOf(report.Job) is { } node)
                effects.Merge(_graph.Finished(node, report, now));
        }
        try
        {
            await ApplyAsync(effects, fromReports: true);
        }
        catch (Exception e)
        {
            // The jobs are final in their own grains: the next activation (this one is dropped) reconciles with them.
            LogReportFailed(logger, e, Id, reports.Length);
        }
    }

    public async Task<WorkflowStatus?> GetStatus()
    {
        if (!Exists)
        {
            DeactivateOnIdle();
            return null;
        }
        // A finished workflow with no job left to hear from needs no activation: the next read comes from storage, so
        // one that retention deleted meanwhile reads as not found.
        if (Workflow.State.IsFinal() && _graph.Released == 0)
            DeactivateOnIdle();
        // Everything is copied before the first await: other calls may change the graph meanwhile.
        var order = _graph.TopologicalOrder();
        var jobs = order.Select(i =>
        {
            var node = Workflow.Nodes[i];
            return new WorkflowJobStatus
            {
                Name = node.Job.Name,
                State = node.State,
                JobId = node.HasJob ? _graph.JobIdOf(i) : null,
                Run = node.Run,
                Attempt = node.Attempt,
                DependsOn = [.. _graph.ParentNames(i)],
                StartedAt = node.StartedAt,
                FinishedAt = node.FinishedAt,
                LastError = node.LastError,
            };
        }).ToArray();
        var status = new WorkflowStatus
        {
            Id = Id,
            Name = Workflow.Name,
            State = Workflow.State,
            Tenant = Workflow.Tenant,
            Priority = Workflow.Priority,
            SizeHint = Workflow.SizeHint,
            FailurePolicy = Workflow.FailurePolicy,
            CreatedAt = Workflow.CreatedAt,
            FinishedAt = Workflow.FinishedAt,
            Reason = Workflow.Reason,
            NotBefore = Workflow.NotBefore > time.GetUtcNow() ? Workflow.NotBefore : null,
        };

        // Released jobs: ask them whether they run yet.
        var released = Enumerable.Range(0, jobs.Length).Where(k => jobs[k].State == WorkflowJobState.Queued && jobs[k].JobId is not null).ToList();
        var live = await Task.WhenAll(released.Select(k => GrainFactory.Reference<IJobGrain>(jobs[k].JobId!.Value.Value).GetStatus()));
        for (var r = 0; r < released.Count; r++)
        {
            if (live[r] is not { } current)
                continue;
            var k = released[r];
            jobs[k] = jobs[k] with
            {
                State = current.State switch
                {
                    JobState.Running => WorkflowJobState.Running,
                    JobState.Succeeded => WorkflowJobState.Succeeded,
                    JobState.Failed => WorkflowJobState.Failed,
                    JobState.Cancelled => WorkflowJobState.Cancelled,
                    _ => WorkflowJobState.Queued,
                },
                Attempt = current.Attempt,
                StartedAt = current.StartedAt,
                FinishedAt = current.FinishedAt,
                LastError = current.State == JobState.Succeeded ? null : current.LastError,
            };
        }
        return status with
        {
            Jobs = [.. jobs],
            Counts = jobs.GroupBy(j => j.State).ToImmutableDictionary(g => g.Key, g => g.Count()),
            StartedAt = jobs.Where(j => j.StartedAt is not null).Select(j => j.StartedAt).Min(),
        };
    }

    public async Task<WorkflowStatus?> WaitForFinal(TimeSpan maxWait)
    {
        // Final in memory is not final yet while the write that records it is under way.
        if (Exists && (!Workflow.State.IsFinal() || _writing is { IsCompleted: false }) && maxWait > TimeSpan.Zero)
        {
            _final ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                await _final.Task.WaitAsync(maxWait, time);
            }
            catch (TimeoutException)
            {
            }
        }
        return await GetStatus();
    }

    public async Task<WorkflowReply> Cancel(string? reason)
    {
        if (!Exists)
            return NotFound();
        if (Workflow.State is WorkflowState.Succeeded or WorkflowState.Cancelled || (Workflow.State == WorkflowState.Failed && _graph.Released == 0))
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} has already finished ({Workflow.State}); nothing to cancel", Workflow.State);
        _cancelDetail = string.IsNullOrWhiteSpace(reason) ? "cancelled" : reason;
        var effects = _graph.Cancel(string.IsNullOrWhiteSpace(reason) ? "cancelled" : $"cancelled: {reason}", time.GetUtcNow());
        await ApplyAsync(effects);
        return new WorkflowReply { State = Workflow.State, Affected = effects.CancelAll.Count };
    }

    public async Task<WorkflowReply> Reschedule(DateTimeOffset? notBefore)
    {
        if (RequestValidation.NotBeforeProblem(notBefore) is { } problem)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidRequest, problem);
        if (!Exists)
            return NotFound();
        if (Workflow.State.IsFinal())
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} has already finished ({Workflow.State}); nothing to reschedule", Workflow.State);
        var now = time.GetUtcNow();
        // Stored first: jobs released from now on get the new time; those released already are moved one by one below.
        Workflow.NotBefore = notBefore > now ? notBefore : null;
        try
        {
            await WriteAsync();
        }
        catch
        {
            // Memory is ahead of storage: drop this activation, the next call reloads what is stored.
            DeactivateOnIdle();
            throw;
        }
        var released = Enumerable.Range(0, Workflow.Nodes.Count).Where(i => Workflow.Nodes[i].State == WorkflowJobState.Queued).ToList();
        var outcomes = await Task.WhenAll(released.Select(i => GrainFactory.Reference<IJobGrain>(_graph.JobIdOf(i).Value).Reschedule(notBefore)));
        return new WorkflowReply { State = Workflow.State, Affected = outcomes.Count(o => o == RescheduleOutcome.Rescheduled) };
    }

    public async Task<WorkflowReply> ChangePriority(int priority)
    {
        if (!JobPriority.IsValid(priority))
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidRequest, JobPriority.RangeProblem(priority));
        if (!Exists)
            return NotFound();
        if (Workflow.State.IsFinal())
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} has already finished ({Workflow.State}); its priority can no longer change", Workflow.State);
        // Stored first: jobs released from now on get the new priority; those waiting already are changed one by one below.
        Workflow.Priority = priority;
        try
        {
            await WriteAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
        var waiting = Enumerable.Range(0, Workflow.Nodes.Count).Where(i => Workflow.Nodes[i].State == WorkflowJobState.Queued).ToList();
        var outcomes = await Task.WhenAll(waiting.Select(i => GrainFactory.Reference<IJobGrain>(_graph.JobIdOf(i).Value).ChangePriority(priority)));
        return new WorkflowReply { State = Workflow.State, Affected = outcomes.Count(o => o == PriorityChangeOutcome.Changed) };
    }

    public async Task<WorkflowReply> Pause()
    {
        if (!Exists)
            return NotFound();
        if (Workflow.State != WorkflowState.Running)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} is {Workflow.State}; only a running workflow can be paused", Workflow.State);
        await ApplyAsync(_graph.Pause());
        return new WorkflowReply { State = Workflow.State };
    }

    public async Task<WorkflowReply> Resume()
    {
        if (!Exists)
            return NotFound();
        if (Workflow.State != WorkflowState.Paused)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} is {Workflow.State}; only a paused workflow can be resumed", Workflow.State);
        var effects = _graph.Resume(time.GetUtcNow());
        await ApplyAsync(effects);
        return new WorkflowReply { State = Workflow.State, Affected = effects.Release.Count };
    }

    public async Task<WorkflowReply> RerunFailed()
    {
        if (!Exists)
            return NotFound();
        var count = _graph.RerunCandidates().Count();
        if (count == 0)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState, $"workflow {Id} has no failed, cancelled or skipped jobs to run again", Workflow.State);
        if (Workflow.State == WorkflowState.Cancelled && _graph.Released > 0)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState,
                $"{_graph.Released} jobs of workflow {Id} are still being cancelled; rerun once they have stopped", Workflow.State);
        await ApplyAsync(_graph.Rerun(time.GetUtcNow()));
        return new WorkflowReply { State = Workflow.State, Affected = count };
    }

    public async Task<WorkflowReply> AddJobs(ImmutableArray<WorkflowJob> jobs)
    {
        if (!Exists)
            return NotFound();
        if (Workflow.State is WorkflowState.Failed or WorkflowState.Cancelled)
            return WorkflowReply.Refused(SchedulerErrorCode.InvalidState,
                $"workflow {Id} is {Workflow.State}; add jobs to a running, paused or succeeded workflow (rerun the failed part first)", Workflow.State);
        var errors = WorkflowValidation.CheckJobs(_graph.Names, _graph.Dependencies, _graph.PayloadBytes, jobs, Workflow.Tenant, Workflow.Priority, _options.MaxPayloadBytes);
        if (errors.IsEmpty)
            errors = SiloCheck(jobs);
        if (!errors.IsEmpty)
            return new WorkflowReply { State = Workflow.State, Errors = errors };
        await ApplyAsync(_graph.Add(jobs, time.GetUtcNow()));
        return new WorkflowReply { State = Workflow.State, Affected = jobs.Length };
    }

    public async Task Reconcile()
    {
        if (!Exists)
        {
            DeactivateOnIdle();
            return;
        }
        if (_graph.Released > 0 && time.GetUtcNow() - _reconciledAt > TimeSpan.FromSeconds(5))
            await ReconcileAsync(requeue: false);
    }

    /// <summary>
    /// The reminder a workflow stored before schema version 5 registered for itself. The watchdog does its work, so
    /// it reconciles once more and unregisters.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != LegacyReminderName)
            return;
        await Reconcile();
        if (await this.GetReminder(LegacyReminderName) is { } reminder)
            await this.UnregisterReminder(reminder);
    }

    /// <summary>
    /// Stores the graph's new state and does what it asks: releases jobs and cancels jobs. A stored state with
    /// released jobs is marked as watched, so a crash cannot strand them: the watchdog finds the workflow.
    /// </summary>
    /// <param name="fromReports">
    /// The change follows from jobs' reports of their end, which their own rows hold. The released jobs are submitted
    /// at once and the state is stored only when final or as a checkpoint within <see cref="CheckpointDelay"/>: a
    /// storage round trip less between a parent's end and its child's start. Safe because a later activation can
    /// recompute it: it learns the parents' ends from the jobs again and releases the same children (their ids are
    /// derived from the workflow, so submits are idempotent).
    /// </param>
    private async Task ApplyAsync(WorkflowEffects effects, bool fromReports = false)
    {
        if (!effects.Changed)
            return;
        var releasing = fromReports && effects.Release.Count > 0 ? SubmitSafelyAsync(effects.Release) : null;
        IWebhookGrain? webhook = null;
        if (fromReports && !Workflow.State.IsFinal())
        {
            _unsaved = true;
            _checkpointTimer ??= this.RegisterGrainTimer(static (self, _) => self.CheckpointAsync(), this,
                new GrainTimerCreationOptions { DueTime = CheckpointDelay, Period = Timeout.InfiniteTimeSpan });
        }
        else
        {
            try
            {
                // Recorded before the end is stored, so a stored end always has its delivery; sent once it is stored.
                webhook = await RecordWebhookAsync();
                await WriteAsync();
            }
            catch
            {
                // Memory is ahead of storage: drop this activation, the next call reloads what is stored.
                DeactivateOnIdle();
                if (releasing is not null)
                    await releasing;
                throw;
            }
        }
        webhook?.Ready().Ignore();
        if (Workflow.State.IsFinal())
        {
            _final?.TrySetResult();
            _final = null;
            // A finished workflow with no job left to hear from needs no activation: status is read back from storage.
            if (_graph.Released == 0 && effects.Release.Count == 0)
                DeactivateOnIdle();
        }
        try
        {
            if (releasing is null)
            {
                // Not submitted as new: after a reconcile, a former activation may have submitted (and run) these
                // children, and a released job is first stored only when it starts, so only reading tells.
                await ReleaseAsync(effects.Release, isNew: false);
            }
            else
            {
                var (ended, failed) = await releasing;
                if (failed is not null)
                    throw failed;
                await ApplyEndedAsync(ended);
            }
            await CancelAsync(effects.CancelAll, onlyQueued: false);
            await CancelAsync(effects.CancelIfQueued, onlyQueued: true);
        }
        catch (Exception e)
        {
            // The state says what should be; reconciling (soon, and whenever the watchdog calls) makes it so.
            LogApplyFailed(logger, e, Id);
            ScheduleRetry();
        }
    }

    /// <summary>
    /// The workflow's webhook delivery for its end, when it has ended and calls one for it; recording the same end again
    /// (a reconcile applies it once more) finds the delivery there.
    /// </summary>
    private async Task<IWebhookGrain?> RecordWebhookAsync()
    {
        if (Workflow.Webhook is not { } webhook || Workflow.FinishedAt is not { } finishedAt
            || Webhooks.WebhookSubjects.EventOf(Workflow.State) is not { } end || !webhook.Wants(end))
            return null;
        var delivery = Webhooks.WebhookSubjects.Delivery(Webhooks.WebhookSubjects.Workflow, Id.Value, Workflow.Tenant, webhook, end, finishedAt);
        var grain = GrainFactory.GetGrain<IWebhookGrain>(delivery.Id);
        await grain.Record(delivery);
        return grain;
    }

    private Task WriteAsync()
    {
        _unsaved = false;
        _checkpointTimer?.Dispose();
        _checkpointTimer = null;
        return _writing = state.WriteStateAsync();
    }

    /// <summary>Stores progress kept in memory only (see <see cref="ApplyAsync"/>); on failure, a later checkpoint or activation makes up for it.</summary>
    private async Task CheckpointAsync()
    {
        _checkpointTimer?.Dispose();
        _checkpointTimer = null;
        if (!_unsaved)
            return;
        try
        {
            await WriteAsync();
        }
        catch (Exception e)
        {
            // The stored state is older but consistent: the next activation reconciles from the jobs.
            LogApplyFailed(logger, e, Id);
            DeactivateOnIdle();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unsaved)
            await CheckpointAsync();
    }

    /// <summary>Submits the given jobs to their grains (idempotent: the ids are derived), queues those that wait, and applies the end of those that have already ended.</summary>
    /// <param name="isNew">
    /// A first release of the node's current run, its job never submitted: true only where that is certain, as for a
    /// child released by its parents' reports to the activation that released them (a former activation's releases
    /// are found by reconciling first, on activation).
    /// </param>
    private async Task ReleaseAsync(IReadOnlyList<int> nodes, bool isNew) => await ApplyEndedAsync(await SubmitAsync(nodes, isNew));

    /// <summary><see cref="SubmitAsync"/>, with its failure returned rather than thrown (it runs alongside a state write).</summary>
    private async Task<(List<JobId> Ended, Exception? Failed)> SubmitSafelyAsync(IReadOnlyList<int> nodes)
    {
        try
        {
            return (await SubmitAsync(nodes, isNew: true), null);
        }
        catch (Exception e)
        {
            return ([], e);
        }
    }

    /// <summary>Submits the given jobs and queues those that wait; returns those that had already ended.</summary>
    private async Task<List<JobId>> SubmitAsync(IReadOnlyList<int> nodes, bool isNew)
    {
        if (nodes.Count == 0)
            return [];
        var results = await submitter.SubmitAsync([.. nodes.Select(Request)], Order, isNew);
        return [.. results.Where(r => r.State.IsFinal()).Select(r => r.Id)];
    }

    /// <summary>Jobs that had already ended when released (a release retried after a crash, whose job ran meanwhile): applies their end now.</summary>
    private async Task ApplyEndedAsync(List<JobId> ended)
    {
        foreach (var id in ended)
        {
            if (_graph.NodeOf(id) is { } node && await GrainFactory.Reference<IJobGrain>(id.Value).GetStatus() is { } status)
                await ApplyAsync(_graph.Finished(node, new WorkflowJobEvent(status.Id, status.State, status.Attempt, status.StartedAt, status.FinishedAt, status.LastError), time.GetUtcNow()));
        }
    }

    /// <summary>
    /// The workflow's jobs are queued as of its creation: at equal priority (and size hint) a job released late in an
    /// older workflow goes before the first jobs of newer ones, so workflows finish in the order they came, and a child
    /// starts soon after its parents instead of behind everything submitted since.
    /// </summary>
    private QueueOrder Order => new(Workflow.CreatedAt, Workflow.SizeHint);

    // Every released job carries the workflow's due time: its roots wait for it, a later job is released after it anyway.
    private JobRequest Request(int node) =>
        WorkflowValidation.ToRequest(Workflow.Nodes[node].Job, Workflow.Tenant, Workflow.Priority) with
        {
            Id = _graph.JobIdOf(node),
            Workflow = Id,
            NotBefore = Workflow.NotBefore,
        };

    private async Task CancelAsync(IReadOnlyList<int> nodes, bool onlyQueued)
    {
        if (nodes.Count == 0)
            return;
        // The job grain records it as "cancelled: <why>".
        var why = $"by its workflow: {(onlyQueued ? Workflow.Reason : _cancelDetail) ?? "cancelled"}";
        await Task.WhenAll(nodes.Select(async node =>
        {
            var job = GrainFactory.Reference<IJobGrain>(_graph.JobIdOf(node).Value);
            if (onlyQueued && (await job.GetStatus())?.State != JobState.Queued)
                return;
            await job.Cancel(why);
        }));
    }

    /// <summary>
    /// Compares every released job with its grain: a final job that was not reported is applied now, a job that does
    /// not exist (the release was cut short) is submitted again, and with <paramref name="requeue"/> a queued job is
    /// queued again (its shard drops a job it already holds).
    /// </summary>
    private async Task ReconcileAsync(bool requeue)
    {
        _reconciledAt = time.GetUtcNow();
        var released = Enumerable.Range(0, Workflow.Nodes.Count).Where(i => Workflow.Nodes[i].State == WorkflowJobState.Queued).ToList();
        var statuses = await Task.WhenAll(released.Select(i => GrainFactory.Reference<IJobGrain>(_graph.JobIdOf(i).Value).GetStatus()));
        var missing = new List<int>();
        var queued = new List<int>();
        var now = time.GetUtcNow();
        for (var k = 0; k < released.Count; k++)
        {
            var node = released[k];
            switch (statuses[k])
            {
                case null:
                    missing.Add(node);
                    break;
                case { State: var final } status when final.IsFinal():
                    LogReconciled(logger, Id, Workflow.Nodes[node].Job.Name, final);
                    await ApplyAsync(_graph.Finished(node, new WorkflowJobEvent(status.Id, final, status.Attempt, status.StartedAt, status.FinishedAt, status.LastError), now));
                    break;
                case { State: JobState.Queued } when requeue:
                    queued.Add(node);
                    break;
            }
        }
        // Only what is still released now: applying a final job above may have cancelled others. Submitting a queued
        // job again queues it again, as its grain places it.
        await ReleaseAsync([.. missing.Concat(queued).Where(i => Workflow.Nodes[i].State == WorkflowJobState.Queued)], isNew: false);
    }

    private void ScheduleRetry()
    {
        _retryTimer ??= this.RegisterGrainTimer(static async (self, _) =>
        {
            self._retryTimer?.Dispose();
            self._retryTimer = null;
            try
            {
                await self.ReconcileAsync(requeue: true);
            }
            catch (Exception e)
            {
                self.LogApplyFailed(e);
                self.ScheduleRetry();
            }
        }, this, new GrainTimerCreationOptions { DueTime = RetryDelay, Period = Timeout.InfiniteTimeSpan });
    }

    private void LogApplyFailed(Exception e) => LogApplyFailed(logger, e, Id);

    private WorkflowReply NotFound()
    {
        DeactivateOnIdle();
        return WorkflowReply.Refused(SchedulerErrorCode.NotFound, $"workflow {Id} not found");
    }

    /// <summary>What only a silo knows: the handlers and queues it serves.</summary>
    private ImmutableArray<RequestError> SiloCheck(ImmutableArray<WorkflowJob> jobs)
    {
        var errors = ImmutableArray.CreateBuilder<RequestError>();
        for (var i = 0; i < jobs.Length; i++)
        {
            if (!handlers.Contains(jobs[i].Handler))
                errors.Add(new RequestError(i, SchedulerErrorCode.UnknownHandler,
                    $"job '{jobs[i].Name}': unknown handler '{jobs[i].Handler}'; the silos serve: {string.Join(", ", handlers.Names)}"));
            if (!_options.Queues.Contains(jobs[i].Queue))
                errors.Add(new RequestError(i, SchedulerErrorCode.UnknownQueue,
                    $"job '{jobs[i].Name}': unknown queue '{jobs[i].Queue}'; the silos serve: {string.Join(", ", _options.Queues)}"));
        }
        return errors.ToImmutable();
    }
}
