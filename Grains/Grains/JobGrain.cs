using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Scheduler.Storage;

namespace Scheduler.Grains;

/// <summary>
/// One job. Single activation serialises its transitions; the attempt number is the fencing token that lets
/// only the current attempt report an outcome.
/// </summary>
[PreferLocalPlacement]
public sealed partial class JobGrain(
    [PersistentState("job", SchedulerStorage.ProviderName)] IPersistentState<JobGrainState> job,
    IJobStore store,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private readonly SchedulerOptions _options = options.Value;

    // True while an attempt started by this activation is running. A Running state read from storage by a
    // fresh activation belongs to an executor that is gone with the previous activation's silo.
    private bool _attemptLive;
    private TaskCompletionSource? _final;
    private IDisposable? _retryTimer;

    private JobId Id => new(this.GetPrimaryKey());
    private JobGrainState S => job.State;
    private bool Exists => S.State != 0;

    public async Task<SubmitResult> Submit(JobRequest request)
    {
        if (Exists)
            return new SubmitResult(Id, SubmitOutcome.Existing, S.State);

        var now = time.GetUtcNow();
        S.Handler = request.Handler;
        S.Payload = request.Payload.IsDefault ? [] : request.Payload;
        S.Priority = request.Priority;
        S.Queue = request.Queue;
        S.Tenant = request.Tenant;
        S.MaxAttempts = request.Limits.MaxAttempts;
        S.Timeout = request.Limits.Timeout;
        S.IdempotencyKey = request.IdempotencyKey;
        S.Shard = _options.ShardOf(Id);
        S.CreatedAt = now;
        await MoveAsync(JobState.Queued, now);
        return new SubmitResult(Id, SubmitOutcome.Accepted, S.State);
    }

    private QueueEntry Entry => new(Id, S.Priority, S.CreatedAt.UtcTicks);

    public async Task<JobExecution?> TryStart(string silo)
    {
        if (S.State == JobState.Running && !_attemptLive)
        {
            // The attempt recorded as running was started by an activation that no longer exists.
            LogAbandonedAttempt(logger, Id, S.Attempt, S.Silo);
            if (S.Attempt >= S.MaxAttempts)
            {
                S.LastError = $"attempt {S.Attempt} of {S.MaxAttempts} was abandoned (its silo stopped) and no attempts are left";
                await FinishAsync(JobState.Failed);
                return null;
            }
            S.LastError = $"attempt {S.Attempt} was abandoned (its silo stopped)";
        }
        else if (S.State != JobState.Queued)
        {
            if (!Exists)
                DeactivateOnIdle();
            return null;
        }

        _retryTimer?.Dispose();
        _retryTimer = null;
        S.Attempt++;
        S.Silo = silo;
        var now = time.GetUtcNow();
        S.StartedAt = now;
        S.State = JobState.Queued; // so that MoveAsync checks Queued → Running for a re-run of an abandoned attempt
        await MoveAsync(JobState.Running, now);
        _attemptLive = true;
        return new JobExecution
        {
            Id = Id,
            Attempt = S.Attempt,
            Handler = S.Handler,
            Payload = S.Payload,
            Timeout = S.Timeout,
            Queue = S.Queue,
            Tenant = S.Tenant,
            MaxAttempts = S.MaxAttempts,
        };
    }

    public async Task<JobState> Complete(int attempt, JobResult result)
    {
        if (S.State != JobState.Running || attempt != S.Attempt)
        {
            LogStaleOutcome(logger, Id, attempt, S.Attempt, S.State);
            return S.State;
        }
        _attemptLive = false;
        switch (result.Outcome)
        {
            case JobOutcome.Success:
                S.LastError = null;
                await FinishAsync(JobState.Succeeded);
                break;
            case JobOutcome.Retriable when S.Attempt < S.MaxAttempts:
                S.LastError = $"attempt {S.Attempt} of {S.MaxAttempts}: {result.Reason}";
                await MoveAsync(JobState.Queued, time.GetUtcNow());
                var delay = result.RetryAfter ?? TimeSpan.Zero;
                if (delay <= TimeSpan.Zero)
                    await EnqueueAsync();
                else
                    _retryTimer = this.RegisterGrainTimer(static (self, _) => self.EnqueueAsync(), this,
                        new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan });
                break;
            case JobOutcome.Retriable:
                S.LastError = $"attempt {S.Attempt} of {S.MaxAttempts} (the last): {result.Reason}";
                await FinishAsync(JobState.Failed);
                break;
            default:
                S.LastError = $"fatal in attempt {S.Attempt}: {result.Reason}";
                await FinishAsync(JobState.Failed);
                break;
        }
        return S.State;
    }

    public async Task<CancelOutcome> Cancel(string? reason)
    {
        if (!Exists)
        {
            DeactivateOnIdle();
            return CancelOutcome.NotFound;
        }
        if (S.State.IsFinal())
            return CancelOutcome.AlreadyFinal;
        if (S.State == JobState.Running && _attemptLive)
            return CancelOutcome.Running;

        _retryTimer?.Dispose();
        _retryTimer = null;
        _attemptLive = false;
        S.LastError = string.IsNullOrWhiteSpace(reason) ? "cancelled" : $"cancelled: {reason}";
        S.State = JobState.Queued; // a Running state without a live attempt is an abandoned one: cancel it like a queued job
        await FinishAsync(JobState.Cancelled);
        // The shard would skip it anyway (TryStart refuses a final job); removing it keeps queue depths honest.
        await GrainFactory.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey(S.Queue, S.Shard)).Remove(Id);
        return CancelOutcome.Cancelled;
    }

    public Task<JobStatus?> GetStatus()
    {
        if (!Exists)
            DeactivateOnIdle();
        return Task.FromResult(ToStatus());
    }

    public async Task<JobStatus?> WaitForFinal(TimeSpan maxWait)
    {
        if (!Exists || S.State.IsFinal() || maxWait <= TimeSpan.Zero)
            return await GetStatus();
        _final ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _final.Task.WaitAsync(maxWait, time);
        }
        catch (TimeoutException)
        {
        }
        return ToStatus();
    }

    private Task EnqueueAsync()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
        if (S.State != JobState.Queued)
            return Task.CompletedTask;
        return GrainFactory.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey(S.Queue, S.Shard)).Enqueue([Entry]);
    }

    private async Task FinishAsync(JobState final)
    {
        var now = time.GetUtcNow();
        S.FinishedAt = now;
        await MoveAsync(final, now);
        _final?.TrySetResult();
        _final = null;
        // A finished job needs no activation: its status is read back from storage on demand.
        DeactivateOnIdle();
    }

    private async Task MoveAsync(JobState to, DateTimeOffset now)
    {
        var from = S.State;
        if (from != 0 && !JobStates.CanMove(from, to))
            throw new InvalidOperationException($"job {Id}: illegal transition {from} → {to}");
        if (from == 0 && to != JobState.Queued)
            throw new InvalidOperationException($"job {Id}: a new job must start Queued, not {to}");
        S.State = to;
        S.UpdatedAt = now;
        await job.WriteStateAsync();
        await store.SaveAsync([new JobRecord(Id, S.Queue, S.Shard, S.Priority, S.Tenant, S.Handler, S.State, S.Attempt, S.CreatedAt, now)]);
    }

    private JobStatus? ToStatus() => !Exists ? null : new JobStatus
    {
        Id = Id,
        State = S.State,
        Handler = S.Handler,
        Queue = S.Queue,
        Priority = S.Priority,
        Tenant = S.Tenant,
        Attempt = S.Attempt,
        MaxAttempts = S.MaxAttempts,
        CreatedAt = S.CreatedAt,
        StartedAt = S.StartedAt,
        FinishedAt = S.FinishedAt,
        LastError = S.LastError,
        Silo = S.Silo,
        IdempotencyKey = S.IdempotencyKey,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: attempt {Attempt} on silo {Silo} was abandoned; running it again")]
    private static partial void LogAbandonedAttempt(ILogger logger, JobId jobId, int attempt, string? silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: ignored outcome of attempt {Attempt} (current attempt {Current}, state {State})")]
    private static partial void LogStaleOutcome(ILogger logger, JobId jobId, int attempt, int current, JobState state);
}
