using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Scheduler.Jobs;

/// <summary>
/// Delayed retries and the dead-letter queue. A retry with a delay is durable: the job is stored Queued with a
/// "not before" time. A grain timer enqueues it when due; a reminder is the backstop that wakes the grain if its
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
        if (Job.NotBefore is { } due)
        {
            LogRetryDelayed(logger, Id, Job.Attempt + 1, delay);
            await ArmRetryAsync(due);
        }
        else
            await EnqueueAsync();
    }

    /// <summary>Makes sure the job is enqueued when due: a timer in this activation, and a reminder in case it is lost.</summary>
    private async Task ArmRetryAsync(DateTimeOffset due)
    {
        StartRetryTimer(due);
        if (_retryReminderArmed)
            return;
        try
        {
            _retryReminder = await this.RegisterOrUpdateReminder(RetryReminderName, Until(due), RetryReminderPeriod);
            _retryReminderArmed = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The timer still enqueues the job unless this activation is lost; the next offer of the job tries again.
            LogReminderFailed(logger, e, Id, "register");
        }
    }

    private void StartRetryTimer(DateTimeOffset due) =>
        _retryTimer ??= this.RegisterGrainTimer(static (self, _) => self.OnRetryDueAsync(), this,
            new GrainTimerCreationOptions { DueTime = Until(due), Period = Timeout.InfiniteTimeSpan, KeepAlive = true });

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: requeued from the dead-letter queue with {Attempts} more attempts")]
    private static partial void LogRequeued(ILogger logger, JobId jobId, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: purged from the dead-letter queue")]
    private static partial void LogPurged(ILogger logger, JobId jobId);
}
