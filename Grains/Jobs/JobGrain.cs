using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Placement;
using Orleans.Storage;
using Scheduler.Storage;

namespace Scheduler.Jobs;

/// <summary>
/// One job. Single activation serialises its transitions; the attempt number is the fencing token that lets
/// only the current attempt report an outcome.
/// </summary>
[PreferLocalPlacement]
public sealed partial class JobGrain(
    [FromKeyedServices(JobGrainStorage.ProviderName)] IGrainStorage storage,
    IDeadLetterStore store,
    JobSubmitter submitter,
    Protection.SiloProtection protection,
    IOptions<SchedulerOptions> options,
    IClusterMembershipService membership,
    TimeProvider time,
    Telemetry.SchedulerMetrics metrics,
    LeaseWatch leases,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private readonly SchedulerOptions _options = options.Value;
    private JobStateStore state = null!;

    // While Running: the attempt is leased until this time. Its executor renews the lease with heartbeats; when
    // they stop, the attempt is abandoned and the job requeued. Kept in memory only: a fresh activation that reads
    // a Running state gives the executor one lease period to show up (or none, if its silo is known dead). The silo's
    // LeaseWatch asks for a check (CheckLease) once it has passed.
    private DateTimeOffset _leaseUntil;
    private bool _leaseWatched;
    private LeaseWatch.Ticket? _leaseTicket;

    // Set when a running job is cancelled: the next heartbeat tells its executor to stop. Memory only: if this
    // activation is lost meanwhile, the job runs on and can be cancelled again.
    private string? _cancelReason;
    private TaskCompletionSource? _final;
    // From the start of an end until its slots are given back: a wait answers only then, so a job reported final has
    // freed its keys and scope (its state turns final, and is stored, before its releases are done).
    private bool _ending;
    private IDisposable? _retryTimer;

    // A workflow's or schedule's job, Queued in memory only (see Submit) until it starts, or until _storeTimer stores it.
    private bool _unsaved;
    // The write in progress, if any. Reads interleave with writes (GetStatus, WaitForFinal): they wait for it, so a
    // state is reported only once it is stored, never while it is in memory alone.
    private Task _writing = Task.CompletedTask;
    private IGrainTimer? _storeTimer;

    /// <summary>
    /// How long a job released by its workflow or fired by its schedule may stay Queued in memory only: one that has not started by then is
    /// stored as Queued, so listings and counts show it and its shard finds it after a move.
    /// </summary>
    public static readonly TimeSpan UnstoredQueuedLimit = TimeSpan.FromSeconds(1);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        state = new JobStateStore(storage, this.GetGrainId(), logger);
        await state.ReadAsync();
        if (Job.State == JobState.Running)
        {
            var executorDead = Job.SiloAddress is { } executor && membership.CurrentSnapshot.GetSiloStatus(executor) == SiloStatus.Dead;
            _leaseUntil = executorDead ? time.GetUtcNow() : time.GetUtcNow() + _options.LeasePeriod;
            StartLeaseTimer();
        }
        // A due time far off is left to the reminder (StartRetryTimer arms only near ones).
        if (Job.State == JobState.Queued && Job.NotBefore is { } due)
            StartRetryTimer(due);
    }

    private JobId Id => new(this.GetPrimaryKey());
    private JobGrainState Job => state.State;
    private bool Exists => Job.State != 0;

    public async Task<JobSubmitted> Submit(JobRequest request, QueueOrder? order, bool storeAtStart)
    {
        if (Exists)
            return Submitted(SubmitOutcome.Existing);

        var now = time.GetUtcNow();
        Job.Handler = request.Handler;
        Job.Payload = request.Payload.IsDefault ? [] : request.Payload;
        Job.Priority = request.Priority;
        Job.Queue = request.Queue;
        Job.Tenant = request.Tenant;
        Job.MaxAttempts = request.Limits.MaxAttempts ?? JobLimits.DefaultMaxAttempts;
        Job.AttemptBudget = Job.MaxAttempts;
        Job.Retry = request.Retry;
        Job.Timeout = request.Limits.Timeout;
        Job.IdempotencyKey = request.IdempotencyKey;
        Job.Workflow = request.Workflow;
        Job.Shard = _options.ShardOf(Id);
        Job.SizeHint = order?.SizeHint ?? request.SizeHint ?? 0;
        Job.QueuedAsOf = order?.AsOf;
        Job.Keys = KeysOf(request);
        Job.Exclusive = request.Exclusive;
        Job.TraceParent = request.TraceParent;
        Job.Webhook = request.Webhook;
        Job.CreatedAt = now;
        if (request.NotBefore is { } early && early > now && storeAtStart)
        {
            // A schedule's run fired ahead of its time: waiting in memory for its time, enqueued by its timer. Its
            // schedule is its backstop (it submits the id again should the run be lost before it starts), so neither a
            // reminder nor a write comes before its start; UnstoredQueuedLimit counts from its time.
            Job.NotBefore = early;
            Move(JobState.Queued, now);
            _unsaved = true;
            StartRetryTimer(early, evenIfFar: true);
            _storeTimer = this.RegisterGrainTimer(static (self, _) => self.StoreQueuedAsync(), this,
                new GrainTimerCreationOptions { DueTime = early - now + UnstoredQueuedLimit, Period = Timeout.InfiniteTimeSpan });
        }
        else if (request.NotBefore is { } due && due > now)
        {
            // A delayed job: stored Queued with its due time, enqueued by its timer or reminder when due. The reminder
            // goes first, so a stored delayed job always has its backstop (a reminder without a job drops itself).
            Job.NotBefore = due;
            await ArmRetryAsync(due, required: true);
            await MoveAsync(JobState.Queued, now);
        }
        else if (request.Workflow is not null || storeAtStart)
        {
            // Not written yet: its workflow (only workflows set Workflow) or its schedule submits it again after a
            // crash, so its first write can be its start, a storage round trip less before it runs. UnstoredQueuedLimit
            // bounds the wait.
            Move(JobState.Queued, now);
            _unsaved = true;
            _storeTimer = this.RegisterGrainTimer(static (self, _) => self.StoreQueuedAsync(), this,
                new GrainTimerCreationOptions { DueTime = UnstoredQueuedLimit, Period = Timeout.InfiniteTimeSpan });
        }
        else
        {
            await MoveAsync(JobState.Queued, now);
            // Behind a deep backlog, the job is only its row and its shard's entry until it starts.
            if (submitter.IsDeep(Job.ShardKey, Job.Tenant, Job.Priority))
                DeactivateOnIdle();
        }
        return Submitted(SubmitOutcome.Accepted);
    }

    /// <summary>A job waiting for a due time (delayed, or a retry delay) is enqueued by its timer or reminder when due, not by its submitter.</summary>
    private JobSubmitted Submitted(SubmitOutcome outcome) =>
        new(new SubmitResult(Id, outcome, Job.State), Job.State == JobState.Queued && Job.NotBefore is null ? Job.QueuedAs(Id) : null);

    /// <summary>
    /// Stores a workflow's job still Queued in memory only, and queues it again: a shard that reloaded from storage
    /// meanwhile (after a move) did not see it; a shard that holds it already does not add it twice.
    /// </summary>
    private async Task StoreQueuedAsync()
    {
        _storeTimer?.Dispose();
        _storeTimer = null;
        if (!_unsaved || Job.State != JobState.Queued)
            return;
        try
        {
            await WriteAsync();
            await EnqueueAsync();
        }
        catch (Exception e)
        {
            // Its workflow releases it again when it reconciles, its schedule when it finds the run missing.
            LogStoreFailed(logger, e, Id);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A later activation watches it again, should it still be running.
        StopLeaseTimer();
        if (_unsaved && Job.State == JobState.Queued)
            await StoreQueuedAsync();
    }

    public async Task<JobExecution?> TryStart(SiloAddress silo, KeyPredecessor? after = null)
    {
        if (Job.State == JobState.Running)
        {
            // Running under a live lease: another executor has it (or may still report). Not runnable here.
            if (time.GetUtcNow() < _leaseUntil || !await AbandonAttemptAsync(requeue: false))
                return null;
        }
        if (Job.State != JobState.Queued)
        {
            if (!Exists)
                DeactivateOnIdle();
            return null;
        }

        if (Job.NotBefore is { } notBefore && notBefore > time.GetUtcNow())
        {
            // Offered early (a shard reloaded it after a restart, say): not yet. The timer and reminder enqueue it when due.
            await ArmRetryAsync(notBefore);
            return null;
        }

        // A paused gate or an open breaker holds it outside its queue, as a full key does.
        if (await HeldAsync(Job.Attempt + 1))
            return null;
        // A job with keys takes all of them or none (and its exclusive scope); it waits outside its queue until woken.
        DateTimeOffset? granted = null;
        if (Job.IsControlled && (granted = await AcquireKeysAsync(Job.Attempt + 1, after)) is null)
            return null;
        StopRetryTimer();
        // A run its schedule fired ahead, never stored, has no reminder to drop (looking for one is a storage read).
        var delayed = Job.NotBefore is not null && !_unsaved;
        // Ready since it was queued (submitted, queued again or rescheduled: each sets UpdatedAt) or came due.
        var readySince = Job.NotBefore is { } due && due > Job.UpdatedAt ? due : Job.UpdatedAt;
        Job.NotBefore = null;
        Job.Attempt++;
        Job.Silo = NameOf(silo);
        Job.SiloAddress = silo;
        var now = time.GetUtcNow();
        Job.StartedAt = granted ?? now;
        await MoveAsync(JobState.Running, now);
        metrics.Started(Job.Queue, Job.Handler, Job.Tenant, now - readySince);
        _leaseUntil = now + _options.LeasePeriod;
        StartLeaseTimer();
        if (delayed)
            DropRetryReminderSoon();
        return new JobExecution
        {
            Id = Id,
            Attempt = Job.Attempt,
            Handler = Job.Handler,
            Payload = Job.Payload,
            Timeout = Job.Timeout,
            Queue = Job.Queue,
            Tenant = Job.Tenant,
            MaxAttempts = Job.MaxAttempts,
            TraceParent = Job.TraceParent,
            RateKeys = granted is null ? [] : _rateKeys,
            HeldKeys = granted is null ? [] : _heldKeys,
            AfterReleased = granted is null ? [] : _afterReleased,
        };
    }

    public Task<LeaseStatus> Heartbeat(int attempt)
    {
        if (Job.State != JobState.Running || attempt != Job.Attempt)
        {
            // Usually a renewal that crossed the attempt's own outcome: the job is finished and needs no activation.
            if (!Exists || Job.State.IsFinal())
                DeactivateOnIdle();
            return Task.FromResult(LeaseStatus.Lost);
        }
        _leaseUntil = time.GetUtcNow() + _options.LeasePeriod;
        leases.Watch(_leaseTicket ??= new LeaseWatch.Ticket(Id), _leaseUntil);
        return Task.FromResult(_cancelReason is null ? LeaseStatus.Renewed : LeaseStatus.CancelRequested);
    }

    // The executor's name as stored: the same few silos start every job, so a name is made once rather than per start.
    private sealed record SiloName(SiloAddress Silo, string Name);
    private static SiloName? s_lastSilo;

    private static string NameOf(SiloAddress silo)
    {
        if (Volatile.Read(ref s_lastSilo) is { } last && last.Silo.Equals(silo))
            return last.Name;
        var name = silo.ToString();
        Volatile.Write(ref s_lastSilo, new SiloName(silo, name));
        return name;
    }

    private void StartLeaseTimer()
    {
        leases.Watch(_leaseTicket ??= new LeaseWatch.Ticket(Id), _leaseUntil);
        _leaseWatched = true;
    }

    private void StopRetryTimer()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
    }

    private void StopLeaseTimer()
    {
        if (!_leaseWatched)
            return;
        LeaseWatch.Forget(_leaseTicket!);
        _leaseWatched = false;
    }

    public Task CheckLease() => CheckLeaseAsync();

    private async Task CheckLeaseAsync()
    {
        if (Job.State != JobState.Running)
        {
            StopLeaseTimer();
            // Asked by the watch after it ended (the check crossed its outcome), maybe in a fresh activation.
            if (!Exists || Job.State.IsFinal())
                DeactivateOnIdle();
            return;
        }
        if (time.GetUtcNow() < _leaseUntil)
        {
            StartLeaseTimer();
            return;
        }
        if (_cancelReason is not null)
            await CancelNowAsync();
        else
            await AbandonAttemptAsync(requeue: true);
    }

    /// <summary>
    /// The current attempt lost its lease: its executor is gone or stuck. The attempt counts; the job goes back to
    /// its queue while attempts remain (returns true), and fails otherwise.
    /// </summary>
    private async Task<bool> AbandonAttemptAsync(bool requeue)
    {
        StopLeaseTimer();
        LogAbandonedAttempt(logger, Id, Job.Attempt, Job.Silo);
        metrics.LeaseLost(Job.Queue, Job.Handler);
        metrics.AttemptFailed(Job.Queue, Job.Handler, Job.Tenant, "lease_lost");
        var why = $"attempt {Job.Attempt} of {Job.MaxAttempts} lost its lease: no heartbeat from silo {Job.Silo} for {_options.LeasePeriod.TotalSeconds:0.#} s";
        if (Job.Attempt >= Job.MaxAttempts)
        {
            Job.LastError = why + "; no attempts left";
            Job.DeadLetter = DeadLetterReason.AttemptsExhausted;
            await FinishAsync(JobState.Failed);
            return false;
        }
        Job.LastError = why;
        await MoveAsync(JobState.Queued, time.GetUtcNow());
        metrics.Retried(Job.Queue, Job.Handler, Job.Tenant);
        if (requeue)
            await EnqueueAsync();
        return true;
    }

    public async Task<JobState> Complete(int attempt, JobResult result, ImmutableArray<string> keysHandedOn = default)
    {
        if (Job.State != JobState.Running || attempt != Job.Attempt)
        {
            LogStaleOutcome(logger, Id, attempt, Job.Attempt, Job.State);
            return Job.State;
        }
        _keysHandedOn = keysHandedOn.IsDefault ? [] : keysHandedOn;
        try
        {
            return await CompleteAsync(result);
        }
        finally
        {
            _keysHandedOn = [];
        }
    }

    private async Task<JobState> CompleteAsync(JobResult result)
    {
        StopLeaseTimer();
        if (_cancelReason is not null && result.Outcome != JobOutcome.Success)
        {
            await CancelNowAsync();
            return Job.State;
        }
        if (result.Outcome != JobOutcome.Success)
            metrics.AttemptFailed(Job.Queue, Job.Handler, Job.Tenant, result.Outcome == JobOutcome.Retriable ? "retriable" : "fatal");
        RecordOutcome(result);
        switch (result.Outcome)
        {
            case JobOutcome.Success:
                Job.LastError = null;
                await FinishAsync(JobState.Succeeded);
                break;
            case JobOutcome.Retriable when Job.Attempt < Job.MaxAttempts:
                await RetryLaterAsync(result);
                break;
            case JobOutcome.Retriable:
                Job.LastError = $"attempt {Job.Attempt} of {Job.MaxAttempts} (the last): {result.Reason}";
                Job.DeadLetter = DeadLetterReason.AttemptsExhausted;
                await FinishAsync(JobState.Failed);
                break;
            default:
                Job.LastError = $"{DeadLetters.FatalPrefix}{Job.Attempt}: {result.Reason}";
                Job.DeadLetter = DeadLetterReason.Fatal;
                await FinishAsync(JobState.Failed);
                break;
        }
        return Job.State;
    }

    public async Task<CancelOutcome> Cancel(string? reason)
    {
        if (!Exists)
        {
            DeactivateOnIdle();
            return CancelOutcome.NotFound;
        }
        if (Job.State.IsFinal())
            return CancelOutcome.AlreadyFinal;
        _cancelReason = string.IsNullOrWhiteSpace(reason) ? "cancelled" : $"cancelled: {reason}";
        if (Job.State == JobState.Running && time.GetUtcNow() < _leaseUntil)
            return CancelOutcome.Requested;

        // A run its schedule fired ahead waits for its time outside its shard: nothing to remove there.
        var inShard = !(_unsaved && Job.NotBefore > time.GetUtcNow());
        await CancelNowAsync();
        // The shard would skip it anyway (TryStart refuses a final job); removing it keeps queue depths honest.
        if (inShard)
            await GrainFactory.Reference<IQueueShardGrain>(Job.ShardKey).Remove(Id);
        return CancelOutcome.Cancelled;
    }

    private async Task CancelNowAsync()
    {
        Job.LastError = _cancelReason ?? "cancelled";
        _cancelReason = null;
        // Never stored (a run fired ahead): no reminder to drop.
        var delayed = Job.NotBefore is not null && !_unsaved;
        Job.NotBefore = null;
        await FinishAsync(JobState.Cancelled);
        if (delayed)
            await DropRetryReminderAsync();
    }

    public async Task<JobStatus?> GetStatus()
    {
        // A failed write drops the activation and fails this call too: the next one reads what is really stored.
        await _writing;
        // A finished (or unknown) job needs no activation: reads are served from storage.
        if (!Exists || Job.State.IsFinal())
            DeactivateOnIdle();
        return ToStatus();
    }

    public async Task<JobStatus?> WaitForFinal(TimeSpan maxWait)
    {
        if (!Exists || Job.State.IsFinal() && !_ending || maxWait <= TimeSpan.Zero)
            return await GetStatus();
        _final ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _final.Task.WaitAsync(maxWait, time);
        }
        catch (TimeoutException)
        {
        }
        return await GetStatus();
    }

    // A job waiting for its due time is queued by its timer or reminder when due. A due time already past stays set
    // while the job waits for a key (its retry found the key full), and must not keep its wake from queueing it.
    public Task EnsureQueued() => Job.NotBefore is { } due && due > time.GetUtcNow() ? Task.CompletedTask : EnqueueAsync();

    /// <summary>
    /// Puts the job in its shard. The job is Queued in storage already; should the call fail (the shard's silo dying),
    /// the retry timer tries again shortly, while this activation lives (the shard ignores a job it holds already).
    /// </summary>
    private async Task EnqueueAsync()
    {
        StopRetryTimer();
        if (Job.State != JobState.Queued)
            return;
        try
        {
            await submitter.EnqueueAsync([Job.QueuedAs(Id)]);
        }
        catch (Exception e)
        {
            LogEnqueueFailed(logger, e, Id, EnqueueRetryDelay);
            StartRetryTimer(time.GetUtcNow() + EnqueueRetryDelay);
        }
    }

    private static readonly TimeSpan EnqueueRetryDelay = TimeSpan.FromSeconds(2);

    private async Task FinishAsync(JobState final)
    {
        _ending = true;
        StopLeaseTimer();
        StopRetryTimer();
        var now = time.GetUtcNow();
        Job.FinishedAt = now;
        // Recorded before the end is stored, so a stored end always has its delivery; sent once it is stored.
        var webhook = await RecordWebhookAsync(final, now);
        await MoveAsync(final, now);
        webhook?.Ready().Ignore();
        switch (final)
        {
            case JobState.Succeeded:
                metrics.Succeeded(Job.Queue, Job.Handler, Job.Tenant);
                break;
            case JobState.Failed:
                metrics.DeadLettered(Job.Queue, Job.Handler, Job.Tenant, Job.DeadLetter);
                break;
            case JobState.Cancelled:
                metrics.Cancelled(Job.Queue, Job.Handler, Job.Tenant);
                break;
        }
        // Left set should the end fail: the activation is dropped, and a waiter reads what is stored once its wait is up.
        _ending = false;
        _final?.TrySetResult();
        _final = null;
        NotifyWorkflow();
        // A finished job needs no activation: its status is read back from storage on demand.
        DeactivateOnIdle();
    }

    /// <summary>The job's webhook delivery for this end, recorded as pending; null when the job calls none for it.</summary>
    private async Task<IWebhookGrain?> RecordWebhookAsync(JobState final, DateTimeOffset finishedAt)
    {
        if (Job.Webhook is not { } webhook || Webhooks.WebhookSubjects.EventOf(final) is not { } end || !webhook.Wants(end))
            return null;
        var delivery = Webhooks.WebhookSubjects.Delivery(Webhooks.WebhookSubjects.Job, Id.Value, Job.Tenant, webhook, end, finishedAt);
        var grain = GrainFactory.GetGrain<IWebhookGrain>(delivery.Id);
        await grain.Record(delivery);
        return grain;
    }

    private async Task MoveAsync(JobState to, DateTimeOffset now)
    {
        var ended = Job.State == JobState.Running && to != JobState.Running;
        var gaveUp = Job.State == JobState.Queued && to.IsFinal();
        Move(to, now);
        // Every end of an attempt passes here (outcome, lost lease, cancellation): its slots go with it, while its end
        // is written. The attempt's run is over either way (its handler returned, or its lease ran out), and should
        // the write fail, the attempt is still fenced: a late report or a later release of it is ignored.
        var releasing = ended && Job.IsControlled ? ReleaseAllAsync(started: true) : Task.CompletedTask;
        try
        {
            await WriteAsync();
        }
        catch when (to == JobState.Running && Job.IsControlled)
        {
            await ReleaseAllAsync(started: false);
            throw;
        }
        finally
        {
            await releasing;
        }
        if (gaveUp)
        {
            // A job that ends before it ran (cancelled while it waited) leaves its keys' lines, and an exclusive job
            // frees its scope's barrier (or its place behind it), now rather than at the next check of its holder.
            if (!Job.Keys.IsDefaultOrEmpty)
                await WithdrawKeysAsync();
            if (ExclusiveScopes.Of(Job.Exclusive, Job.Queue) is { } scope)
                await ReleaseScopeAsync(scope, 0);
        }
    }

    private void Move(JobState to, DateTimeOffset now)
    {
        var from = Job.State;
        if (from != 0 && !JobStates.CanMove(from, to))
            throw new InvalidOperationException($"job {Id}: illegal transition {from} → {to}");
        if (from == 0 && to != JobState.Queued)
            throw new InvalidOperationException($"job {Id}: a new job must start Queued, not {to}");
        Job.State = to;
        Job.UpdatedAt = now;
    }

    private async Task WriteAsync()
    {
        _unsaved = false;
        _storeTimer?.Dispose();
        _storeTimer = null;
        try
        {
            // One write: the state, the job row's columns and the history entry (see JobGrainStorage); a job's first
            // write that is not Queued records its Queued transition too.
            _writing = state.WriteAsync();
            await _writing;
        }
        catch
        {
            // Memory is now ahead of storage. Drop this activation: the next call reloads what is really stored.
            DeactivateOnIdle();
            throw;
        }
    }

    private JobStatus? ToStatus() => !Exists ? null : new JobStatus
    {
        Id = Id,
        State = Job.State,
        Handler = Job.Handler,
        Queue = Job.Queue,
        Priority = Job.Priority,
        Tenant = Job.Tenant,
        Attempt = Job.Attempt,
        MaxAttempts = Job.MaxAttempts,
        CreatedAt = Job.CreatedAt,
        StartedAt = Job.StartedAt,
        FinishedAt = Job.FinishedAt,
        LastError = Job.LastError,
        Silo = Job.Silo,
        IdempotencyKey = Job.IdempotencyKey,
        DeadLetterReason = Job.State == JobState.Failed ? Job.DeadLetter : null,
        NextAttemptAt = Job.State == JobState.Queued ? Job.NotBefore : null,
        Retry = Job.Retry,
        WaitingFor = Job.State == JobState.Queued ? _waitingFor : null,
    };

    /// <summary>
    /// Tells the job's workflow (if any) that the job is final. One-way, so a job never waits for its workflow (which
    /// may be calling this job); a lost message is made up for by the workflow, which reconciles with its jobs.
    /// </summary>
    private void NotifyWorkflow()
    {
        if (Job.Workflow is { } workflow)
            GrainFactory.Reference<IWorkflowGrain>(workflow.Value)
                .JobFinished(new WorkflowJobEvent(Id, Job.State, Job.Attempt, Job.StartedAt, Job.FinishedAt, Job.LastError)).Ignore();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: putting it in its queue shard failed; trying again in {Delay}")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, JobId jobId, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: attempt {Attempt} on silo {Silo} lost its lease")]
    private static partial void LogAbandonedAttempt(ILogger logger, JobId jobId, int attempt, string? silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: storing it as Queued failed; its workflow releases it again")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: ignored outcome of attempt {Attempt} (current attempt {Current}, state {State})")]
    private static partial void LogStaleOutcome(ILogger logger, JobId jobId, int attempt, int current, JobState state);
}
