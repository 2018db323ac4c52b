using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Scheduler.Jobs;

/// <summary>
/// Due times (delayed jobs and delayed retries), and the dead-letter queue. A due time is durable: the job is stored
/// Queued with a "not before" time. A grain timer enqueues it when due, armed once the time is near
/// (<see cref="DueTimerHorizon"/>); a reminder wakes the grain in time to arm it, and is the backstop if its
/// activation is lost meanwhile (the silo restarted, or the grain was collected). A queue shard that reloads the job
/// early offers it to <see cref="TryStart"/>, which refuses it until it is due and re-arms both.
/// </summary>
public sealed partial class JobGrain
{
    public const string RetryReminderName = "retry";

    // Whether this activation has registered (or seen) the retry reminder; a fresh activation registers it again.
    private bool _retryReminderArmed;
    private IGrainReminder? _retryReminder;

    /// <summary>A retriable outcome with attempts left: back to Queued, at once or after the backoff.</summary>
    private async Task RetryLaterAsync(JobResult result)
    {
        var now = time.GetUtcNow();
        var delay = result.RetryAfter
            ?? (Job.Retry ?? RetryPolicy.Default).DelayAfter(Job.Attempt, Random.Shared.NextDouble());
        if (delay > RetryPolicy.LongestDelay)
            delay = RetryPolicy.LongestDelay;
        Job.LastError = $"attempt {Job.Attempt} of {Job.MaxAttempts}: {result.Reason}";
        Job.NotBefore = delay > TimeSpan.Zero ? now + delay : null;
        await MoveAsync(JobState.Queued, now);
        metrics.Retried(Job.Queue, Job.Handler, Job.Tenant);
        if (Job.NotBefore is { } due)
        {
            LogRetryDelayed(logger, Id, Job.Attempt + 1, delay);
            await ArmRetryAsync(due);
        }
        else
            await EnqueueAsync();
    }

    /// <summary>
    /// Makes sure the job is enqueued when due: a timer in this activation once the due time is near, and a reminder
    /// that wakes the grain in time to arm it, or in case the activation is lost.
    /// </summary>
    /// <param name="required">
    /// The reminder must be (re-)registered now, its first tick moved to the new due time; a failure is thrown (a
    /// delayed submit or a reschedule then fails before it stores anything). Else a failure is logged: the timer still
    /// enqueues the job unless this activation is lost, and the next offer of the job tries again.
    /// </param>
    private async Task ArmRetryAsync(DateTimeOffset due, bool required = false)
    {
        StartRetryTimer(due);
        if (_retryReminderArmed && !required)
            return;
        try
        {
            _retryReminder = await this.RegisterOrUpdateReminder(RetryReminderName, ReminderDueTime(due), RetryReminderPeriod);
            _retryReminderArmed = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException && !required)
        {
            LogReminderFailed(logger, e, Id, "register");
            // Without its reminder a far due time has no other way back (shards reload only near ones): this activation waits for it.
            StartRetryTimer(due, evenIfFar: true);
        }
    }

    /// <summary>
    /// How near a due time must be for this activation to wait for it with a timer (which keeps the activation alive).
    /// A due time further off is left to the reminder, whose first tick comes <see cref="ReminderLead"/> before it.
    /// </summary>
    public static readonly TimeSpan DueTimerHorizon = TimeSpan.FromMinutes(2);

    /// <summary>How long before a far due time the reminder first ticks, to arm the timer that starts the job on time.</summary>
    public static readonly TimeSpan ReminderLead = TimeSpan.FromMinutes(1);

    /// <summary>
    /// With a near due time the reminder is only the backstop for a lost activation: it first ticks this long after
    /// the due time, so that it seldom finds the job still waiting (the timer has started it, and dropped the reminder).
    /// </summary>
    public static readonly TimeSpan ReminderBackstopDelay = TimeSpan.FromSeconds(1);

    private TimeSpan ReminderDueTime(DateTimeOffset due)
    {
        var wait = Until(due);
        return wait > DueTimerHorizon ? wait - ReminderLead : wait + ReminderBackstopDelay;
    }

    private void StartRetryTimer(DateTimeOffset due, bool evenIfFar = false)
    {
        if (Until(due) > DueTimerHorizon && !evenIfFar)
            return;
        _retryTimer ??= this.RegisterGrainTimer(static (self, _) => self.OnRetryDueAsync(), this,
            new GrainTimerCreationOptions { DueTime = Until(due), Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    private Task OnRetryDueAsync()
    {
        StopRetryTimer();
        if (Job.State != JobState.Queued)
            return Task.CompletedTask;
        if (Job.NotBefore is { } due && due > time.GetUtcNow())
        {
            StartRetryTimer(due);
            return Task.CompletedTask;
        }
        return EnqueueAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetryReminderName)
            return;
        _retryReminderArmed = true;
        if (Job.State != JobState.Queued || Job.NotBefore is null)
        {
            // Started, finished, purged or requeued meanwhile: the backstop is not needed any more.
            await DropRetryReminderAsync();
            if (!Exists)
                DeactivateOnIdle();
            return;
        }
        if (Job.NotBefore is { } due && due > time.GetUtcNow())
        {
            StartRetryTimer(due);
            return;
        }
        // Due: (re-)enqueue. The shard ignores a job it already holds; the reminder stays until the job starts.
        await EnqueueAsync();
    }

    /// <summary>
    /// Drops the reminder in a turn of its own, off the start of the job (a reminder write is a storage round trip);
    /// should the activation end first, the reminder's next tick finds the job started and drops itself.
    /// </summary>
    private void DropRetryReminderSoon() =>
        _dropReminderTimer ??= this.RegisterGrainTimer(static (self, _) => self.OnDropReminderDueAsync(), this,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan });

    private IGrainTimer? _dropReminderTimer;

    private Task OnDropReminderDueAsync()
    {
        _dropReminderTimer?.Dispose();
        _dropReminderTimer = null;
        // Waiting for a due time again meanwhile (a retry with a delay): that wait needs the reminder.
        return Job.State == JobState.Queued && Job.NotBefore is not null ? Task.CompletedTask : DropRetryReminderAsync();
    }

    private async Task DropRetryReminderAsync()
    {
        try
        {
            // The handle this activation registered saves a read; a fresh activation looks the reminder up.
            if ((_retryReminder ?? await this.GetReminder(RetryReminderName)) is { } reminder)
                await this.UnregisterReminder(reminder);
            _retryReminder = null;
            _retryReminderArmed = false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Harmless: its next tick finds the job started or finished and tries again.
            LogReminderFailed(logger, e, Id, "unregister");
        }
    }

    private TimeSpan Until(DateTimeOffset due)
    {
        var wait = due - time.GetUtcNow();
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    /// <summary>Reminders tick at least this far apart: Orleans' minimum period (1 minute unless configured otherwise).</summary>
    private TimeSpan RetryReminderPeriod
    {
        get
        {
            var minimum = ServiceProvider.GetService<IOptions<ReminderOptions>>()?.Value.MinimumReminderPeriod ?? TimeSpan.FromMinutes(1);
            return minimum > TimeSpan.FromMinutes(1) ? minimum : TimeSpan.FromMinutes(1);
        }
    }

    public async Task<RescheduleOutcome> Reschedule(DateTimeOffset? notBefore)
    {
        if (RequestValidation.NotBeforeProblem(notBefore) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(notBefore), notBefore, problem);
        if (!Exists)
        {
            DeactivateOnIdle();
            return RescheduleOutcome.NotFound;
        }
        if (Job.State == JobState.Running)
            return RescheduleOutcome.Running;
        if (Job.State != JobState.Queued)
            return RescheduleOutcome.AlreadyFinal;

        var now = time.GetUtcNow();
        var due = notBefore is { } at && at > now ? at : (DateTimeOffset?)null;
        var wasDelayed = Job.NotBefore is not null;
        if (due is null && !wasDelayed)
        {
            // Due already: nothing to store; queued again in case it was offered early and refused meanwhile.
            await EnqueueAsync();
            return RescheduleOutcome.Rescheduled;
        }
        StopRetryTimer();
        if (due is { } later)
        {
            // The reminder moves first: should the write then fail, its tick finds the stored due time and re-arms.
            await ArmRetryAsync(later, required: true);
        }
        Job.NotBefore = due;
        Job.UpdatedAt = now;
        // Not a transition (Queued stays Queued), but the row's due time changes; its history records it as Queued again.
        await WriteAsync();
        LogRescheduled(logger, Id, due);
        if (due is null)
        {
            if (wasDelayed)
                await DropRetryReminderAsync();
            await EnqueueAsync();
        }
        // A job already in its shard and now due later is refused by TryStart when offered, and re-armed there.
        return RescheduleOutcome.Rescheduled;
    }

    public async Task<RequeueOutcome> Requeue(int? attempts)
    {
        if (attempts is < 1 or > JobLimits.MaxAllowedAttempts)
            throw new ArgumentOutOfRangeException(nameof(attempts), attempts, $"attempts {attempts} is out of range: use 1 to {JobLimits.MaxAllowedAttempts}");
        if (!Exists)
        {
            DeactivateOnIdle();
            return RequeueOutcome.NotFound;
        }
        if (Job.State != JobState.Failed)
            return RequeueOutcome.NotDeadLettered;

        // A fresh budget on top of the attempts made: the attempt number (the fencing token) keeps counting up.
        var budget = attempts ?? (Job.AttemptBudget > 0 ? Job.AttemptBudget : Job.MaxAttempts);
        var previous = Job.LastError;
        Job.MaxAttempts = Job.Attempt + budget;
        Job.DeadLetter = null;
        Job.NotBefore = null;
        Job.FinishedAt = null;
        Job.LastError = $"requeued from the dead-letter queue with {budget} more attempt{(budget == 1 ? "" : "s")}"
            + (previous is null ? "" : $"; it had failed: {previous}");
        await MoveAsync(JobState.Queued, time.GetUtcNow());
        LogRequeued(logger, Id, budget);
        await EnqueueAsync();
        return RequeueOutcome.Requeued;
    }

    public async Task<PurgeOutcome> Purge()
    {
        if (Exists && Job.State != JobState.Failed)
            return PurgeOutcome.NotDeadLettered;

        // The job's state lives in its row (see JobGrainStorage): deleting the row, with its history and log, deletes
        // the job. This activation forgets it too; the next one finds no row and reads the job as not found.
        var deleted = await store.PurgeFailedAsync([Id]);
        var existed = Exists;
        state.State = new JobGrainState();
        DeactivateOnIdle();
        if (!existed && deleted == 0)
            return PurgeOutcome.NotFound;
        LogPurged(logger, Id);
        return PurgeOutcome.Purged;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: attempt {Attempt} waits {Delay} (retry backoff)")]
    private static partial void LogRetryDelayed(ILogger logger, JobId jobId, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: could not {Action} its retry reminder")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, JobId jobId, string action);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: rescheduled to start no earlier than {Due} (none: now)")]
    private static partial void LogRescheduled(ILogger logger, JobId jobId, DateTimeOffset? due);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: requeued from the dead-letter queue with {Attempts} more attempts")]
    private static partial void LogRequeued(ILogger logger, JobId jobId, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: purged from the dead-letter queue")]
    private static partial void LogPurged(ILogger logger, JobId jobId);
}
