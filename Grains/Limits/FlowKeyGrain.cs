using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Scheduler.Storage;

namespace Scheduler.Limits;

/// <summary>
/// One concurrency key (see <see cref="IFlowKeyGrain"/>). Its holders and waiters are stored before it answers (its row
/// in <c>scheduler_flow_keys</c>, group-committed with other keys and jobs), so they survive its deactivation and its
/// silo's death. A freed slot is handed to the best waiter in the same write, and the key puts that job back in its
/// queue; the job starts when a worker pulls it: this grain never starts anything.
/// </summary>
public sealed partial class FlowKeyGrain(
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<FlowKeyGrain> logger) : Grain, IFlowKeyGrain, IRemindable
{
    /// <summary>The state name of keys; also what they used in the Orleans grain storage before schema version 11.</summary>
    public const string StateName = "flowkey";

    private const string ReminderName = "flowkey";

    /// <summary>How long a job handed a slot may take to come back through its queue before it is told again (the slot stays its own).</summary>
    public static readonly TimeSpan WakeGrace = TimeSpan.FromSeconds(10);

    /// <summary>A holder older than this is checked against its job grain on the key's reminder tick (a lost release).</summary>
    public static readonly TimeSpan AuditAge = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan WakeRetryDelay = TimeSpan.FromSeconds(2);

    private KeyBook _book = null!;
    private IGrainTimer? _pumpTimer;
    private DateTimeOffset? _pumpAt;
    private bool _reminderArmed;
    private bool _reminderArming;
    // Answers of wakes sent without waiting, applied by the next pump.
    private readonly List<(JobId Job, bool? Wants)> _wakeAnswers = [];
    // The write in flight, and the one that will carry the changes made meanwhile (see WriteAsync).
    private Task _lastWrite = Task.CompletedTask;
    private Task? _nextWrite;
    // A release not stored yet (see Release).
    private bool _releaseUnstored;

    // The key's row, read and written through its storage directly rather than through Orleans' persistent-state
    // bridge: a key is written about once per keyed job, and the bridge's queued operation and its awaits on the
    // grain's scheduler cost two more scheduled continuations and their allocations per write.
    private readonly GrainState<FlowKeyState> _state = new(new FlowKeyState());
    private IGrainStorage _storage = null!;

    private string Key => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(FlowKeyGrainStorage.ProviderName);
        await _storage.ReadStateAsync(StateName, this.GetGrainId(), _state);
        _state.State ??= new FlowKeyState();
        _book = new KeyBook(Key, _state.State);
        ApplySettings();
        // A fresh activation does not know which holders the last one handed a slot to and never reached (it died
        // first): once those had time to come back, it checks its holders against their jobs. It serves its waiters.
        if (_book.State.Holders.Count > 0)
            this.RegisterGrainTimer(static (self, _) => self.AuditOnActivationAsync(), this,
                new GrainTimerCreationOptions { DueTime = WakeGrace, Period = Timeout.InfiniteTimeSpan });
        if (_book.State.Waiters.Count > 0)
            SchedulePump(TimeSpan.Zero);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!_releaseUnstored)
            return;
        try
        {
            await WriteAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The next activation checks its holders against their jobs and frees the slot then.
            LogDeactivationWriteFailed(logger, e, Key);
        }
    }

    private string Source => _book.State.Runtime is not null ? "runtime" : options.Value.FlowControl.SettingsOf(Key) is not null ? "configuration" : "jobs";

    private void ApplySettings() => _book.Settings = _book.State.Runtime ?? options.Value.FlowControl.SettingsOf(Key);

    public async Task<KeyAnswer> TryAcquire(KeyClaim claim)
    {
        var now = time.GetUtcNow();
        // The attempt whose slot this job takes on its silo gives it back here, so its release and this claim are one
        // call and one write; the claim is then decided by the same rules as any (a better waiter still comes first).
        var released = claim.After is { } prior && prior.Job != claim.Job && _book.Release(prior.Job, prior.Attempt, started: true, now);
        var answer = _book.Claim(claim, now, out var changed);
        if (Pump() | changed | released)
            await WriteAsync();
        else
            // A job confirming the slot handed to it: the hand-off may still be on its way to storage.
            await (_nextWrite ?? _lastWrite);
        if (claim.After is { } after && !_book.Holds(after.Job, after.Attempt))
            answer = answer with { AfterReleased = true };
        if (!answer.Granted)
            LogWaiting(logger, claim.Job, Key, answer.Reason);
        // Not awaited: a reminder service on a dying silo can take a call timeout to answer, and claims must not wait.
        if (!_reminderArmed && !_reminderArming && _book.NeedsBackstop)
            _ = ArmReminderAsync();
        return answer;
    }

    public async Task Release(JobId job, int attempt, bool started)
    {
        if (!_book.Release(job, attempt, started, time.GetUtcNow()))
        {
            LogStaleRelease(logger, job, attempt, Key);
            return;
        }
        // The freed slot goes to the next waiter in the same write (see Pump). A release that hands nothing on is not
        // stored before it answers: the stored state then names one holder too many, which can only refuse a start,
        // never grant one twice; the next write carries it (or deactivation's), and should this activation die first,
        // the next one finds the holder's job done when it checks its holders. A rate limit's window moves with a
        // release, so there it is stored at once.
        if (Pump() || _book.Rate is not null)
            await WriteAsync();
        else
            _releaseUnstored = true;
    }

    public async Task Started(JobId job, int attempt)
    {
        if (!_book.Started(job, attempt, time.GetUtcNow()))
            return;
        // The start now leaves the window at a known time: the pump plans its next look by it.
        Pump();
        await WriteAsync();
    }

    public async Task Withdraw(JobId job, int attempt)
    {
        if (!_book.Withdraw(job, attempt))
            return;
        Pump();
        await WriteAsync();
    }

    public async Task<KeyStatus> Set(KeySettings settings)
    {
        if (FlowKeys.Problem(Key, settings) is { } problem)
            throw new ArgumentException(problem, nameof(settings));
        _book.State.Runtime = settings;
        ApplySettings();
        Pump();
        await WriteAsync();
        await GrainFactory.GetGrain<IFlowKeyDirectoryGrain>(0).Add(Key);
        return _book.ToStatus(Source, time.GetUtcNow());
    }

    public async Task<KeyStatus> GetStatus()
    {
        // What is stored, not changes still on their way to storage.
        await (_nextWrite ?? _lastWrite).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        return _book.ToStatus(Source, time.GetUtcNow());
    }

    /// <summary>
    /// Hands freed slots to the best waiters and puts them back in their queues; tells again those handed a slot that
    /// have not come back. Returns whether the state changed: the caller stores it before its turn ends, so a handed
    /// job's claim (which waits for this turn) finds the hand-off stored. The jobs are told before the write, so the
    /// write and their way back through the queue overlap.
    /// </summary>
    private bool Pump()
    {
        var now = time.GetUtcNow();
        var changed = false;
        foreach (var (job, wants) in _wakeAnswers)
            changed |= _book.Told(job, wants, now + WakeRetryDelay);
        _wakeAnswers.Clear();
        var retell = _book.Pump(now, WakeGrace, out var handed, out var next, out var pumped);
        if (handed.Count > 0)
            Requeue(handed);
        foreach (var job in retell)
        {
            LogRetell(logger, Key, job);
            _ = WakeAsync(job);
        }
        if (next is { } at)
            SchedulePump(at - now);
        return changed | pumped;
    }

    /// <summary>Puts jobs handed a slot straight back in their queue shards, one call per shard; a job that gave no shard is woken instead.</summary>
    private void Requeue(List<WaitingJob> handed)
    {
        foreach (var waiter in handed)
            LogHanded(logger, Key, waiter.Job, waiter.Attempt);
        foreach (var group in handed.Where(w => w.Shard is not null).GroupBy(w => w.Shard!, StringComparer.Ordinal))
            _ = RequeueAsync(group.Key, [.. group]);
        foreach (var waiter in handed.Where(w => w.Shard is null))
            _ = WakeAsync(waiter.Job);
    }

    private async Task RequeueAsync(string shard, WaitingJob[] jobs)
    {
        try
        {
            await GrainFactory.Reference<IQueueShardGrain>(shard)
                .Enqueue([.. jobs.Select(w => new QueueEntry(w.Job, w.Priority, w.QueuedAt, w.SizeHint))]);
        }
        catch (Exception e)
        {
            LogRequeueFailed(logger, e, shard, Key);
            foreach (var waiter in jobs)
                _ = WakeAsync(waiter.Job);
        }
    }

    private async Task WakeAsync(JobId job)
    {
        bool? wants;
        try
        {
            wants = await GrainFactory.Reference<IJobGrain>(job.Value).Wake(Key);
        }
        catch (Exception e)
        {
            LogWakeFailed(logger, e, job, Key);
            wants = null;
        }
        if (wants == true && !_book.IsPending(job))
            return;
        _wakeAnswers.Add((job, wants));
        SchedulePump(TimeSpan.Zero);
    }

    private void SchedulePump(TimeSpan due)
    {
        if (due < TimeSpan.Zero)
            due = TimeSpan.Zero;
        var at = time.GetUtcNow() + due;
        if (_pumpAt is { } planned && planned <= at && _pumpTimer is not null)
            return;
        _pumpAt = at;
        if (_pumpTimer is null)
            _pumpTimer = this.RegisterGrainTimer(static (self, _) => self.OnPumpTimer(), this,
                new GrainTimerCreationOptions { DueTime = due, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
        else
            _pumpTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private async Task AuditOnActivationAsync()
    {
        if (await AuditHoldersAsync(WakeGrace) | Pump())
            await WriteAsync();
    }

    private async Task OnPumpTimer()
    {
        _pumpAt = null;
        if (Pump())
            await WriteAsync();
    }

    /// <summary>
    /// The backstop while the key has holders or waiters: a reminder brings the key back after its silo died (its
    /// waiters would otherwise wait for a release that may never come), and checks old holders against their jobs.
    /// </summary>
    private async Task ArmReminderAsync()
    {
        _reminderArming = true;
        try
        {
            await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
            _reminderArmed = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The next claim tries again.
            LogReminderFailed(logger, e, Key);
        }
        finally
        {
            _reminderArming = false;
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _reminderArmed = true;
        if (!_book.NeedsBackstop)
        {
            // Holders alone need none: their releases reach the key whenever they come (see NeedsBackstop).
            if (await this.GetReminder(ReminderName) is { } reminder)
                await this.UnregisterReminder(reminder);
            _reminderArmed = false;
            // A claim may have come in meanwhile (claims interleave).
            if (_book.NeedsBackstop)
                _ = ArmReminderAsync();
            else if (_book.IsIdle)
                DeactivateOnIdle();
            return;
        }
        if (await AuditHoldersAsync(AuditAge) | Pump())
            await WriteAsync();
    }

    /// <summary>
    /// A holder whose job no longer runs that attempt lost its release (its key was unreachable), or was handed the
    /// slot by an activation that died before the job came back: free it, and wake the job in case it still waits.
    /// Returns whether any was freed.
    /// </summary>
    private async Task<bool> AuditHoldersAsync(TimeSpan minAge)
    {
        var now = time.GetUtcNow();
        var old = _book.State.Holders.Where(h => now - h.Value.Since >= minAge && !_book.IsPending(h.Key)).ToList();
        var freed = false;
        foreach (var (job, held) in old)
        {
            bool holds;
            try
            {
                holds = await GrainFactory.GetGrain<IJobGrain>(job.Value).HoldsKeys(held.Attempt);
            }
            catch (Exception e)
            {
                LogWakeFailed(logger, e, job, Key);
                continue;
            }
            if (!holds && _book.Release(job, held.Attempt, started: true, now))
            {
                LogLeakFreed(logger, job, held.Attempt, Key);
                freed = true;
                _ = WakeAsync(job);
            }
        }
        return freed;
    }

    private TimeSpan ReminderPeriod
    {
        get
        {
            var minimum = ServiceProvider.GetService<IOptions<ReminderOptions>>()?.Value.MinimumReminderPeriod ?? TimeSpan.FromMinutes(1);
            return minimum > TimeSpan.FromMinutes(1) ? minimum : TimeSpan.FromMinutes(1);
        }
    }

    /// <summary>
    /// Stores the state as it is now, before the caller answers. Claims and releases interleave (their changes are made
    /// at once, without an await in between), so a key with many callers is not one storage round trip per call: every
    /// change made while a write is in flight rides on the next one, and one write at a time goes to storage.
    /// </summary>
    private Task WriteAsync()
    {
        if (_nextWrite is { } next)
            return next;
        if (_lastWrite.IsCompleted)
            return _lastWrite = WriteNowAsync();
        return _nextWrite = WriteAfterAsync(_lastWrite);
    }

    private async Task WriteAfterAsync(Task previous)
    {
        // Its outcome is its own callers' concern: this write carries everything since, and replaces it if it failed.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        // Changes from here on need the write after this one (the state is serialized as the write starts).
        _nextWrite = null;
        var write = WriteNowAsync();
        _lastWrite = write;
        await write;
    }

    /// <summary>
    /// On failure (storage down, or another activation wrote meanwhile) this activation is dropped, so the next call
    /// reloads what is stored instead of answering from memory that is ahead of it.
    /// </summary>
    private async Task WriteNowAsync()
    {
        try
        {
            // The state is serialized as the write starts: it carries every release made so far.
            _releaseUnstored = false;
            await _storage.WriteStateAsync(StateName, this.GetGrainId(), _state);
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key {Key}: handed a slot to job {JobId} for attempt {Attempt}")]
    private static partial void LogHanded(ILogger logger, string key, JobId jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key {Key}: job {JobId} was handed a slot and is not back yet; telling it again")]
    private static partial void LogRetell(ILogger logger, string key, JobId jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} waits for key {Key}: {Reason}")]
    private static partial void LogWaiting(ILogger logger, JobId jobId, string key, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: ignored release of key {Key} by attempt {Attempt}, which does not hold it")]
    private static partial void LogStaleRelease(ILogger logger, JobId jobId, int attempt, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {Key}: could not put the jobs handed a slot back in queue shard {Shard}; waking them instead")]
    private static partial void LogRequeueFailed(ILogger logger, Exception exception, string shard, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: could not reach it for key {Key}; trying again")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception, JobId jobId, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: attempt {Attempt} no longer runs but held key {Key} (its release was lost); freed")]
    private static partial void LogLeakFreed(ILogger logger, JobId jobId, int attempt, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {Key}: could not store its releases as it deactivated; its next activation checks its holders")]
    private static partial void LogDeactivationWriteFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {Key}: could not register its reminder")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string key);
}
