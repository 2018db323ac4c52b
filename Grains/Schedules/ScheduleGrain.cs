using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Scheduler.Execution;
using Scheduler.Jobs;
using Scheduler.Storage;

namespace Scheduler.Schedules;

/// <summary>
/// One schedule. Its row (<see cref="IScheduleStore"/>) is read on activation and written on every change. A reminder
/// (period: Orleans' minimum, 1 minute) wakes it after a restart or a failover; while active, a timer fires each
/// occurrence on time. Firing submits the occurrence's run through the one path (<see cref="JobSubmitter"/> for a
/// job, <see cref="IWorkflowGrain.Submit"/> for a workflow) under an id derived from the occurrence, and then records
/// it: a crash in between fires the same id again, which the idempotent submit turns into nothing new. A job run is
/// fired <see cref="SchedulerOptions.ScheduleLead"/> ahead of its time, waiting in its grain for that time, so only
/// its start is left for the time itself.
/// </summary>
/// <remarks>
/// The end of a run (for the overlap policy and the run list) is learned by a long poll that runs off the grain's
/// turns and reports back through <see cref="RunEnded"/>; each reminder tick restarts the polls a failover dropped.
/// </remarks>
public sealed partial class ScheduleGrain(
    IScheduleStore store,
    Serializer serializer,
    JobSubmitter submitter,
    JobHandlerRegistry handlers,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<ScheduleGrain> logger) : Grain, IScheduleGrain, IRemindable
{
    private const string ReminderName = "fire";
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    // Longest wait of one poll for a run's end: within Orleans' default response timeout.
    private static readonly TimeSpan RunPoll = TimeSpan.FromSeconds(20);

    // A firing that failed (storage or a silo briefly unavailable) is tried again after this.
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    // A timer further out than this is not needed: the reminder re-arms it.
    private static readonly TimeSpan LongestTimer = TimeSpan.FromMinutes(5);

    private readonly SchedulerOptions _options = options.Value;
    private readonly HashSet<Guid> _watching = [];
    private CancellationTokenSource _deactivating = new();
    private ScheduleGrainState? _state;
    private ScheduleClock? _clock;
    private int _version;
    private IGrainTimer? _timer;

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.ReadScheduleAsync(Id, cancellationToken) is { } stored)
        {
            _state = serializer.Deserialize<ScheduleGrainState>(stored.Data)!;
            _version = stored.Version;
            _clock = ScheduleClock.Of(_state.Definition, _state.CreatedAt);
            WatchRunning();
            Arm();
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating.Cancel();
        return Task.CompletedTask;
    }

    public async Task<ScheduleReply> Upsert(ScheduleDefinition definition)
    {
        var errors = ScheduleValidation.Check(definition, _options.MaxPayloadBytes);
        if (errors.IsEmpty)
            errors = SiloCheck(definition);
        if (errors.IsEmpty && definition.Id != Id)
            errors = [new RequestError(-1, SchedulerErrorCode.InvalidRequest, $"schedule id '{definition.Id}' is not this grain's '{Id}'")];
        if (!errors.IsEmpty)
            return new ScheduleReply { Errors = errors };

        var now = time.GetUtcNow();
        var created = _state is null;
        var next = _state is null
            ? new ScheduleGrainState { CreatedAt = now }
            : Copy(_state);
        next.Definition = definition;
        // An update applies from now on: occurrences the new trigger would have had before it are not missed ones.
        next.HandledUntil = now;
        await SaveAsync(next);
        _clock = ScheduleClock.Of(definition, next.CreatedAt);
        if (!next.Paused)
            await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
        Arm();
        LogUpserted(logger, Id, created);
        return new ScheduleReply { Outcome = created ? SubmitOutcome.Accepted : SubmitOutcome.Existing };
    }

    public async Task<ScheduleReply> Pause(string? note)
    {
        if (Refusal(note) is { } refused)
            return refused;
        var next = Copy(_state!);
        next.Paused = true;
        next.Note = note;
        await SaveAsync(next);
        _timer?.Dispose();
        _timer = null;
        await DropReminderAsync();
        await CancelAheadAsync("paused");
        return new ScheduleReply();
    }

    public async Task<ScheduleReply> Resume(string? note)
    {
        if (Refusal(note) is { } refused)
            return refused;
        var next = Copy(_state!);
        var wasPaused = next.Paused;
        next.Paused = false;
        next.Note = note;
        await SaveAsync(next);
        await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
        // What passed while paused is missed, however recent: its policy decides.
        var runs = await FireDueAsync(allMissed: wasPaused);
        Arm();
        return new ScheduleReply { Runs = runs };
    }

    public async Task<ScheduleReply> Trigger()
    {
        if (Refusal(null) is { } refused)
            return refused;
        var now = time.GetUtcNow();
        // Whole milliseconds: the occurrence is shown and sent as such, and its id must come out the same.
        var occurrence = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
        var next = Copy(_state!);
        var run = await FireAsync(next, occurrence, ScheduleFireReason.Manual, overlap: true);
        await SaveAsync(next);
        return new ScheduleReply { Runs = [run] };
    }

    public async Task<ScheduleReply> Backfill(DateTimeOffset from, DateTimeOffset to)
    {
        if (Refusal(null) is { } refused)
            return refused;
        if (to < from)
            return ScheduleReply.Refused(SchedulerErrorCode.InvalidRequest, $"backfill end {to:O} is before its start {from:O}: give the earlier time first");
        var now = time.GetUtcNow();
        if (to > now)
            return ScheduleReply.Refused(SchedulerErrorCode.InvalidRequest, $"backfill end {to:O} is in the future: a backfill covers past time (up to now, {now:O})");
        var occurrences = _clock!.Between(from, to, ScheduleIds.MaxBackfill + 1);
        if (occurrences.Count > ScheduleIds.MaxBackfill)
            return ScheduleReply.Refused(SchedulerErrorCode.InvalidRequest, $"the range holds more than {ScheduleIds.MaxBackfill} occurrences: backfill a shorter range at a time");
        var next = Copy(_state!);
        var runs = ImmutableArray.CreateBuilder<ScheduleRun>(occurrences.Count);
        foreach (var occurrence in occurrences)
            runs.Add(await FireAsync(next, occurrence.ToUniversalTime(), ScheduleFireReason.Backfill, overlap: false));
        await SaveAsync(next);
        return new ScheduleReply { Runs = runs.ToImmutable() };
    }

    public async Task<bool> Delete()
    {
        if (_state is null)
            return false;
        if (!await store.DeleteScheduleAsync(Id, _version))
            throw Conflict();
        var ahead = _state;
        _state = null;
        _clock = null;
        _version = 0;
        _timer?.Dispose();
        _timer = null;
        await DropReminderAsync();
        await CancelAheadAsync("deleted", ahead);
        // Stop following the deleted schedule's runs; a schedule created again in this activation follows its own.
        await _deactivating.CancelAsync();
        _deactivating = new CancellationTokenSource();
        DeactivateOnIdle();
        LogDeleted(logger, Id);
        return true;
    }

    public Task<ScheduleStatus?> Describe(int next)
    {
        if (_state is not { } state || _clock is not { } clock)
            return Task.FromResult<ScheduleStatus?>(null);
        var ended = IsEnded(state);
        var upcoming = state.Paused || ended
            ? []
            : clock.Next(Max(state.HandledUntil, time.GetUtcNow()), Math.Clamp(next, 0, 1000));
        return Task.FromResult<ScheduleStatus?>(new ScheduleStatus
        {
            Definition = state.Definition,
            Paused = state.Paused,
            Note = state.Note,
            CreatedAt = state.CreatedAt,
            RunCount = state.RunCount,
            NextOccurrences = [.. upcoming],
            LastRuns = [.. Enumerable.Reverse(state.Runs)],
            Ended = ended,
        });
    }

    public Task Wake()
    {
        if (_state is null)
            DeactivateOnIdle();
        // Woken after a silo died: a run that was there is followed again now, not at the next reminder tick.
        WatchRunning();
        return Task.CompletedTask;
    }

    public async Task RunEnded(Guid runId, ScheduleRunOutcome outcome)
    {
        _watching.Remove(runId);
        if (_state is null || _state.Runs.FindIndex(r => r.RunId == runId && r.Outcome == ScheduleRunOutcome.Running) is not (var index and >= 0))
            return;
        // The buffered occurrence (BufferOne) starts once nothing runs: that is stored at once.
        if (_state.Runs.Count(r => r.Outcome == ScheduleRunOutcome.Running) == 1
            && _state.Runs.FindIndex(r => r.Outcome == ScheduleRunOutcome.Buffered) is var buffered and >= 0)
        {
            var next = Copy(_state);
            next.Runs[index] = next.Runs[index] with { Outcome = outcome };
            next.Runs[buffered] = await SubmitAsync(next, next.Runs[buffered]);
            next.RunCount++;
            await SaveAsync(next);
            return;
        }
        // Otherwise the outcome is stored with the next write (the next firing): until then a new activation learns it
        // again from the run itself, which it follows as it follows every run still recorded as running.
        _state.Runs[index] = _state.Runs[index] with { Outcome = outcome };
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
            return;
        if (_state is null || _state.Paused || IsEnded(_state))
        {
            // Deleted, paused or ended, and the reminder not dropped then: drop it now.
            await DropReminderAsync();
            return;
        }
        WatchRunning();
        await FireDueLoggedAsync();
    }

    /// <summary>Fires what is due, then sets the timer for the next occurrence.</summary>
    private async Task FireDueLoggedAsync()
    {
        try
        {
            await FireDueAsync(allMissed: false);
            Arm();
        }
        catch (Exception e)
        {
            LogFireFailed(logger, e, Id);
            Arm(RetryDelay);
        }
    }

    /// <summary>
    /// Fires the occurrences whose time (and jitter) has come since the last handled one: those on time, and those
    /// missed as the missed policy says. <paramref name="allMissed"/>: count every one as missed (after a pause).
    /// </summary>
    private async Task<ImmutableArray<ScheduleRun>> FireDueAsync(bool allMissed)
    {
        if (_state is not { Paused: false } state || _clock is not { } clock || IsEnded(state))
            return [];
        var pass = SchedulePass.Plan(Id, state.Definition, clock, state.HandledUntil, time.GetUtcNow(), allMissed,
            allMissed ? TimeSpan.Zero : LeadOf(state));
        if (pass.HandledUntil is not { } handledUntil)
            return [];
        if (pass.Dropped > 0)
            LogMissed(logger, Id, pass.Dropped, state.Definition.Missed);

        var next = Copy(state);
        var runs = ImmutableArray.CreateBuilder<ScheduleRun>(pass.Fire.Count);
        foreach (var (occurrence, reason) in pass.Fire)
        {
            if (IsEnded(next))
                break;
            runs.Add(await FireAsync(next, occurrence, reason, overlap: true));
        }
        next.HandledUntil = handledUntil;
        await SaveAsync(next);
        if (IsEnded(next))
            await DropReminderAsync();
        return runs.ToImmutable();
    }

    /// <summary>
    /// Fires one occurrence into <paramref name="state"/> (not stored yet): submits its run, or under the overlap policy
    /// skips, buffers it, or cancels the running one first. An occurrence already recorded is returned as it is.
    /// </summary>
    private async Task<ScheduleRun> FireAsync(ScheduleGrainState state, DateTimeOffset occurrence, ScheduleFireReason reason, bool overlap)
    {
        var runId = ScheduleIds.RunIdOf(Id, state.CreatedAt, occurrence);
        if (state.Runs.Find(r => r.RunId == runId) is { } known)
            return known;
        var run = new ScheduleRun
        {
            Occurrence = occurrence,
            RunId = runId,
            IsWorkflow = state.Definition.Workflow is not null,
            Outcome = ScheduleRunOutcome.Running,
            Reason = reason,
            FiredAt = time.GetUtcNow(),
        };
        var running = state.Runs.Where(r => r.Outcome == ScheduleRunOutcome.Running).ToList();
        if (overlap && running.Count > 0)
        {
            switch (state.Definition.Overlap)
            {
                case ScheduleOverlapPolicy.Skip:
                    return Record(state, run with { Outcome = ScheduleRunOutcome.Skipped });
                case ScheduleOverlapPolicy.BufferOne:
                    var outcome = state.Runs.Exists(r => r.Outcome == ScheduleRunOutcome.Buffered) ? ScheduleRunOutcome.Skipped : ScheduleRunOutcome.Buffered;
                    return Record(state, run with { Outcome = outcome });
                case ScheduleOverlapPolicy.CancelPrevious:
                    // The cancelled runs report their end through their polls.
                    await Task.WhenAll(running.Select(r => CancelAsync(r)));
                    break;
            }
        }
        run = await SubmitAsync(state, run);
        state.RunCount++;
        return Record(state, run);
    }

    private static ScheduleRun Record(ScheduleGrainState state, ScheduleRun run)
    {
        state.Runs.Add(run);
        // Keep the newest; a run still going or waiting is kept however old, so its end is still recorded.
        while (state.Runs.Count > ScheduleIds.MaxRunsKept && state.Runs.FindIndex(r => r.Outcome is not (ScheduleRunOutcome.Running or ScheduleRunOutcome.Buffered)) is var oldest and >= 0)
            state.Runs.RemoveAt(oldest);
        return run;
    }

    /// <summary>Submits the run of an occurrence under its derived id, and starts following it.</summary>
    private async Task<ScheduleRun> SubmitAsync(ScheduleGrainState state, ScheduleRun run)
    {
        var definition = state.Definition;
        if (definition.Job is { } job)
        {
            // Most likely new (a re-fire is rare), so its grain skips reading state that does not exist; for a job that
            // does exist its first write fails, and an activation that reads takes over. Stored when it starts: a run
            // lost before that is submitted again by its watch (WatchAsync), under the same id.
            var results = await submitter.SubmitAsync([RunRequest(job, run, definition)], order: null, mayBeNew: true, storeAtStart: true);
            LogFired(logger, Id, run.Occurrence, run.RunId, results[0].Outcome);
        }
        else
        {
            var workflow = definition.Workflow! with { Id = new WorkflowId(run.RunId) };
            var reply = await GrainFactory.Reference<IWorkflowGrain>(run.RunId).Submit(workflow);
            if (!reply.Succeeded)
                throw new InvalidOperationException($"schedule '{Id}': the workflow of {run.Occurrence:O} was refused: {reply.Errors[0].Message}");
            LogFired(logger, Id, run.Occurrence, run.RunId, reply.Outcome ?? SubmitOutcome.Accepted);
        }
        run = run with { Outcome = ScheduleRunOutcome.Running, FiredAt = time.GetUtcNow() };
        Watch(run);
        return run;
    }

    /// <summary>
    /// The job of a run. A scheduled occurrence's run waits for its time (and jitter): fired ahead, it starts then; fired
    /// at or after it, the time is past and it starts at once.
    /// </summary>
    private JobRequest RunRequest(JobRequest template, ScheduleRun run, ScheduleDefinition definition) =>
        template with
        {
            Id = new JobId(run.RunId),
            IdempotencyKey = null,
            NotBefore = run.Reason == ScheduleFireReason.Scheduled ? DueOf(run.Occurrence, definition) : null,
        };

    /// <summary>When an occurrence's run may start: its time plus its jitter.</summary>
    private DateTimeOffset DueOf(DateTimeOffset occurrence, ScheduleDefinition definition) =>
        occurrence + ScheduleIds.JitterOf(Id, occurrence.ToUniversalTime(), definition.Jitter);

    /// <summary>
    /// How far ahead of its time the next occurrence fires: <see cref="SchedulerOptions.ScheduleLead"/> for a job
    /// schedule, unless the overlap policy has to look at the previous run (still going or waiting), which it does at
    /// the occurrence's time, not ahead of it. A workflow fires at its time.
    /// </summary>
    private TimeSpan LeadOf(ScheduleGrainState state) =>
        state.Definition.Overlap != ScheduleOverlapPolicy.AllowAll
        && state.Runs.Exists(r => r.Outcome is ScheduleRunOutcome.Running or ScheduleRunOutcome.Buffered)
            ? TimeSpan.Zero
            : LongestLeadOf(state);

    private TimeSpan LongestLeadOf(ScheduleGrainState state) => state.Definition.Job is null ? TimeSpan.Zero : _options.ScheduleLead;

    /// <summary>
    /// Cancels the runs fired ahead whose time has not come (they have not started): a paused or deleted schedule runs
    /// nothing after it. Their watches record them as cancelled.
    /// </summary>
    private async Task CancelAheadAsync(string why, ScheduleGrainState? state = null)
    {
        if ((state ?? _state) is not { Definition.Job: not null } of)
            return;
        var now = time.GetUtcNow();
        var ahead = of.Runs.Where(r => r is { Outcome: ScheduleRunOutcome.Running, Reason: ScheduleFireReason.Scheduled }
            && DueOf(r.Occurrence, of.Definition) > now);
        await Task.WhenAll(ahead.Select(run => GrainFactory.Reference<IJobGrain>(run.RunId).Cancel($"schedule '{Id}' {why} before the run's time")));
    }

    private async Task CancelAsync(ScheduleRun run)
    {
        var reason = $"schedule '{Id}': a newer occurrence started (overlap policy CancelPrevious)";
        if (run.IsWorkflow)
            await GrainFactory.Reference<IWorkflowGrain>(run.RunId).Cancel(reason);
        else
            await GrainFactory.Reference<IJobGrain>(run.RunId).Cancel(reason);
    }

    private void WatchRunning()
    {
        foreach (var run in _state?.Runs ?? [])
        {
            if (run.Outcome == ScheduleRunOutcome.Running)
                Watch(run);
        }
    }

    /// <summary>Follows a run to its end off the grain's turns (a long poll must not hold the grain), then reports it.</summary>
    private void Watch(ScheduleRun run)
    {
        if (!_watching.Add(run.RunId))
            return;
        _ = WatchAsync(run, this.AsReference<IScheduleGrain>(), _deactivating.Token);
    }

    private async Task WatchAsync(ScheduleRun run, IScheduleGrain self, CancellationToken cancellationToken)
    {
        // A failed poll (the run's silo just died) is tried again here, not left to the reminder: a paused schedule
        // has none, and its last run would stay "running" for good.
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await OutcomeOfAsync(run) is { } ended)
                {
                    await self.RunEnded(run.RunId, ended);
                    break;
                }
                failures = 0;
            }
            catch (Exception e)
            {
                failures++;
                LogWatchFailed(logger, e, Id, run.RunId, failures);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures - 1, 5))), time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        _watching.Remove(run.RunId);
    }

    /// <summary>Waits up to <see cref="RunPoll"/> for the run to end: its outcome, or null while it goes on.</summary>
    private async Task<ScheduleRunOutcome?> OutcomeOfAsync(ScheduleRun run)
    {
        if (run.IsWorkflow)
        {
            var status = await GrainFactory.Reference<IWorkflowGrain>(run.RunId).WaitForFinal(RunPoll);
            return status is null ? ScheduleRunOutcome.Failed : OutcomeOf(status.State);
        }
        var job = await GrainFactory.Reference<IJobGrain>(run.RunId).WaitForFinal(RunPoll);
        if (job is null && MayResubmit(run) && _state?.Definition is { Job: { } request } definition)
        {
            // Lost before it started (its job is stored at its start, and its silo died): it never ran, and no row of
            // it can have been pruned yet, so submitting its id again runs it once.
            LogRunLost(logger, Id, run.RunId, run.Occurrence);
            await submitter.SubmitAsync([RunRequest(request, run, definition)], order: null, mayBeNew: false, storeAtStart: true);
            return null;
        }
        return job is null ? ScheduleRunOutcome.Failed : OutcomeOf(job.State);
    }

    /// <summary>
    /// A job run missing from storage may be submitted again only while retention cannot have deleted it (a run that
    /// finished and was pruned must not run twice); later it counts as failed.
    /// </summary>
    private bool MayResubmit(ScheduleRun run) =>
        _options.Retention is not { Enabled: true } retention
        || new[] { retention.Succeeded, retention.Cancelled, retention.Failed }.Min() is not { } shortest
        || time.GetUtcNow() - run.FiredAt < shortest;

    private static ScheduleRunOutcome? OutcomeOf(JobState state) => state switch
    {
        JobState.Succeeded => ScheduleRunOutcome.Succeeded,
        JobState.Failed => ScheduleRunOutcome.Failed,
        JobState.Cancelled => ScheduleRunOutcome.Cancelled,
        _ => null,
    };

    private static ScheduleRunOutcome? OutcomeOf(WorkflowState state) => state switch
    {
        WorkflowState.Succeeded => ScheduleRunOutcome.Succeeded,
        WorkflowState.Failed => ScheduleRunOutcome.Failed,
        WorkflowState.Cancelled => ScheduleRunOutcome.Cancelled,
        _ => null,
    };

    /// <summary>Sets the timer for the next occurrence (its time plus jitter, less the lead), or after <paramref name="delay"/>.</summary>
    private void Arm(TimeSpan? delay = null)
    {
        _timer?.Dispose();
        _timer = null;
        if (_state is not { Paused: false } state || _clock is not { } clock || IsEnded(state))
            return;
        if (delay is null)
        {
            if (clock.NextAfter(state.HandledUntil) is not { } next)
                return;
            // Woken a lead ahead (the run just fired is still going now, but seldom by then): whether it fires ahead
            // is decided at that point (LeadOf). Past that point, it fires at its time.
            var due = DueOf(next, state.Definition);
            var ahead = due - LongestLeadOf(state);
            var now = time.GetUtcNow();
            delay = (ahead > now ? ahead : due) - now;
        }
        var dueTime = delay.Value < TimeSpan.Zero ? TimeSpan.Zero : delay.Value > LongestTimer ? LongestTimer : delay.Value;
        _timer = this.RegisterGrainTimer(static (self, _) => self.FireDueLoggedAsync(), this,
            new GrainTimerCreationOptions { DueTime = dueTime, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    private bool IsEnded(ScheduleGrainState state) =>
        state.Definition.MaxRuns is { } max && state.RunCount >= max
        || _clock?.NextAfter(state.HandledUntil) is null;

    private async Task SaveAsync(ScheduleGrainState next)
    {
        var record = new ScheduleRecord(Id, _version + 1, next.Paused, time.GetUtcNow(), serializer.SerializeToArray(next));
        if (!await store.SaveScheduleAsync(record))
            throw Conflict();
        _state = next;
        _version = record.Version;
    }

    private InvalidOperationException Conflict()
    {
        // Another activation changed the row (possible only around a failover): this one must not go on with stale state.
        DeactivateOnIdle();
        return new InvalidOperationException($"schedule '{Id}' was changed elsewhere; try again");
    }

    private async Task DropReminderAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
            await this.UnregisterReminder(reminder);
    }

    private ScheduleReply? Refusal(string? note)
    {
        if (_state is null)
        {
            DeactivateOnIdle();
            return ScheduleReply.Refused(SchedulerErrorCode.NotFound, $"no schedule '{Id}'");
        }
        return ScheduleValidation.CheckNote(note) is { } problem ? ScheduleReply.Refused(SchedulerErrorCode.InvalidRequest, problem) : null;
    }

    private ImmutableArray<RequestError> SiloCheck(ScheduleDefinition definition)
    {
        var jobs = definition.Job is { } job
            ? [(job.Handler, job.Queue, Prefix: "job template")]
            : definition.Workflow!.Jobs.Select(j => (j.Handler, j.Queue, Prefix: $"workflow template: job '{j.Name}'")).ToList();
        var errors = ImmutableArray.CreateBuilder<RequestError>();
        foreach (var (handler, queue, prefix) in jobs)
        {
            if (!handlers.Contains(handler))
                errors.Add(new RequestError(-1, SchedulerErrorCode.UnknownHandler, $"{prefix}: unknown handler '{handler}'; the silos serve: {string.Join(", ", handlers.Names)}"));
            if (!_options.Queues.Contains(queue))
                errors.Add(new RequestError(-1, SchedulerErrorCode.UnknownQueue, $"{prefix}: unknown queue '{queue}'; the silos serve: {string.Join(", ", _options.Queues)}"));
        }
        return errors.ToImmutable();
    }

    // Changes are made on a copy and take effect once stored, so a failed write leaves the grain as the row is.
    private static ScheduleGrainState Copy(ScheduleGrainState state) => new()
    {
        Definition = state.Definition,
        CreatedAt = state.CreatedAt,
        Paused = state.Paused,
        Note = state.Note,
        HandledUntil = state.HandledUntil,
        RunCount = state.RunCount,
        Runs = [.. state.Runs],
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
