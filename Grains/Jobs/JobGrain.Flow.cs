using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Scheduler.Jobs;

/// <summary>
/// Concurrency keys: before an attempt starts, the job takes a slot of each of its keys, all or none. A key that is
/// full (or over its rate) records the job as a waiter; the job gives back what it took and leaves its queue (the
/// pull that offered it is acknowledged), so it holds no worker slot and holds back no other job. The key wakes it
/// when its turn comes, and it goes back to its queue. Every end of a running attempt gives its slots back
/// (<see cref="MoveAsync"/>), fenced by the attempt number.
/// </summary>
public sealed partial class JobGrain
{
    // What the job waits for, for its status. Memory only: set again by its next claim if the activation is collected.
    private string? _waitingFor;

    // The attempt whose keys are being claimed (0: none): it holds the keys granted so far, though not Running yet.
    private int _claiming;

    // The rate-limited keys that counted the start being claimed: its worker tells them when the handler began.
    private ImmutableArray<string> _rateKeys = [];

    // The keys that attempt holds, with the limits they granted under: its worker sets aside jobs it knows would be refused.
    private ImmutableArray<ConcurrencyKey> _heldKeys = [];

    // The keys that gave back the slot of the attempt this one started after on its silo (see KeyClaim.After).
    private ImmutableArray<string> _afterReleased = [];

    // While an outcome is being stored: the keys whose slot the attempt handed to the next job on its silo (see Complete).
    private ImmutableArray<string> _keysHandedOn = [];

    private static ImmutableArray<ConcurrencyKey> KeysOf(JobRequest request) =>
        request.Concurrency.IsDefaultOrEmpty ? [] : [.. request.Concurrency.OrderBy(k => k.Key, StringComparer.Ordinal)];

    private IFlowKeyGrain KeyGrain(string key) => GrainFactory.Reference<IFlowKeyGrain>(key);

    /// <summary>
    /// Takes every key for <paramref name="attempt"/>; returns when the start counts from (the latest grant), or null
    /// when a key made the job wait (it took none then). Keys are claimed one by one and never waited on while
    /// holding others, so no set of jobs can deadlock. <paramref name="after"/>: the attempt on the same silo whose
    /// slots this one takes; each of its keys gives that slot back as it decides the claim.
    /// </summary>
    private async Task<DateTimeOffset?> AcquireKeysAsync(int attempt, KeyPredecessor? after)
    {
        // One method, not a wrapper around the claims: each awaited async layer in a grain costs a continuation per job.
        _claiming = attempt;
        try
        {
            // The job's place in its queue, as QueuedAs gives it, without building a whole entry per claim.
            var queuedAt = (Job.QueuedAsOf ?? Job.CreatedAt).UtcTicks;
            var keys = Job.Keys.IsDefault ? [] : Job.Keys;
            var taken = 0;
            var held = new ConcurrencyKey[keys.Length];
            // Most claims count no rate and follow no attempt: these stay empty, unallocated.
            ImmutableArray<string>.Builder? rateKeys = null, afterReleased = null;
            var at = DateTimeOffset.MinValue;
            try
            {
                var shard = keys.Length > 0 ? Job.ShardKey : null;
                foreach (var key in keys)
                {
                    var answer = await KeyGrain(key.Key).TryAcquire(new KeyClaim
                    {
                        Job = Id,
                        Attempt = attempt,
                        Priority = Job.Priority,
                        QueuedAt = queuedAt,
                        Limit = key.Limit,
                        Shard = shard,
                        SizeHint = Job.SizeHint,
                        After = after,
                    });
                    if (!answer.Granted)
                    {
                        metrics.FlowWait(Job.Queue, Job.Handler, answer.EligibleAt is null ? "concurrency" : "rate");
                        await ReleaseKeysAsync(keys[..taken], attempt, started: false);
                        _waitingFor = answer.Reason;
                        return null;
                    }
                    if (answer.AfterReleased)
                        (afterReleased ??= ImmutableArray.CreateBuilder<string>()).Add(key.Key);
                    if (answer.RateCounted)
                        (rateKeys ??= ImmutableArray.CreateBuilder<string>()).Add(key.Key);
                    held[taken++] = answer.Limit == key.Limit ? key : new ConcurrencyKey(key.Key, answer.Limit);
                    if (answer.GrantedAt > at)
                        at = answer.GrantedAt;
                }
            }
            catch
            {
                await ReleaseKeysAsync(keys[..taken], attempt, started: false);
                throw;
            }
            if (ExclusiveScopes.Of(Job.Exclusive, Job.Queue) is { } scope)
            {
                // Last, so a job never holds back its scope's barrier while it waits for a key.
                var answer = await Scope(scope).Claim(new KeyClaim { Job = Id, Attempt = attempt, Priority = Job.Priority, QueuedAt = queuedAt });
                if (!answer.Granted)
                {
                    metrics.FlowWait(Job.Queue, Job.Handler, "exclusive");
                    await ReleaseKeysAsync(keys, attempt, started: false);
                    _waitingFor = answer.Reason;
                    return null;
                }
                if (answer.GrantedAt > at)
                    at = answer.GrantedAt;
            }
            _waitingFor = null;
            _rateKeys = rateKeys?.ToImmutable() ?? [];
            _heldKeys = ImmutableCollectionsMarshal.AsImmutableArray(held);
            _afterReleased = afterReleased?.ToImmutable() ?? [];
            return at;
        }
        finally
        {
            _claiming = 0;
        }
    }

    private IExclusiveScopeGrain Scope(string scope) => GrainFactory.Reference<IExclusiveScopeGrain>(scope);

    /// <summary>Gives back the current attempt's keys and scope.</summary>
    private async Task ReleaseAllAsync(bool started)
    {
        var keys = Job.Keys.IsDefault ? [] : Job.Keys;
        // Slots handed to the next job on the attempt's silo are given back by its claims (or its worker), not here.
        await ReleaseKeysAsync(_keysHandedOn.IsDefaultOrEmpty ? keys : [.. keys.Where(k => !_keysHandedOn.Contains(k.Key))], Job.Attempt, started);
        if (ExclusiveScopes.Of(Job.Exclusive, Job.Queue) is { } scope)
            await ReleaseScopeAsync(scope, Job.Attempt);
    }

    private async Task ReleaseScopeAsync(string scope, int attempt)
    {
        try
        {
            await Scope(scope).Release(Id, attempt);
        }
        catch (Exception e)
        {
            LogReleaseFailed(logger, e, Id, attempt, scope);
            _unreleased.Add((scope, attempt, true));
            _releaseTimer ??= this.RegisterGrainTimer(static (self, _) => self.RetryReleasesAsync(), this,
                new GrainTimerCreationOptions { DueTime = ReleaseRetryDelay, Period = ReleaseRetryDelay, KeepAlive = true });
        }
    }

    /// <summary>
    /// Gives back slots. A release that fails (the key's silo died) is tried again every few seconds while this
    /// activation lives; should it die too, the key's check of old holders frees the slot.
    /// </summary>
    private Task ReleaseKeysAsync(ImmutableArray<ConcurrencyKey> keys, int attempt, bool started) => keys.Length switch
    {
        0 => Task.CompletedTask,
        1 => ReleaseKeyAsync(keys[0].Key, attempt, started),
        _ => Task.WhenAll(keys.Select(key => ReleaseKeyAsync(key.Key, attempt, started))),
    };

    private async Task ReleaseKeyAsync(string key, int attempt, bool started)
    {
        try
        {
            await KeyGrain(key).Release(Id, attempt, started);
        }
        catch (Exception e)
        {
            LogReleaseFailed(logger, e, Id, attempt, key);
            _unreleased.Add((key, attempt, started));
            _releaseTimer ??= this.RegisterGrainTimer(static (self, _) => self.RetryReleasesAsync(), this,
                new GrainTimerCreationOptions { DueTime = ReleaseRetryDelay, Period = ReleaseRetryDelay, KeepAlive = true });
        }
    }

    private static readonly TimeSpan ReleaseRetryDelay = TimeSpan.FromSeconds(2);
    private readonly List<(string Key, int Attempt, bool Started)> _unreleased = [];
    private IGrainTimer? _releaseTimer;

    private async Task RetryReleasesAsync()
    {
        var pending = _unreleased.ToList();
        _unreleased.Clear();
        _releaseTimer?.Dispose();
        _releaseTimer = null;
        foreach (var (key, attempt, started) in pending)
        {
            if (ExclusiveScopes.Of(Job.Exclusive, Job.Queue) == key)
                await ReleaseScopeAsync(key, attempt);
            else
                await ReleaseKeyAsync(key, attempt, started);
        }
    }

    public async Task<bool> Wake(string key)
    {
        if (Job.State != JobState.Queued || !Job.Keys.Any(k => k.Key == key))
        {
            if (!Exists)
                DeactivateOnIdle();
            return false;
        }
        await EnsureQueued();
        return true;
    }

    public Task<bool> HoldsKeys(int attempt) =>
        Task.FromResult(Job.State == JobState.Running && Job.Attempt == attempt || _claiming != 0 && _claiming == attempt);

    /// <summary>A job that ends while it waits (cancelled) leaves its keys' lines, and gives back a slot handed to it meanwhile.</summary>
    private async Task WithdrawKeysAsync()
    {
        var attempt = Job.Attempt + 1;
        await Task.WhenAll(Job.Keys.Select(async key =>
        {
            try
            {
                await KeyGrain(key.Key).Withdraw(Id, attempt);
            }
            catch (Exception e)
            {
                // The key tells a job handed a slot again after a while, and drops it when the job no longer waits.
                LogReleaseFailed(logger, e, Id, attempt, key.Key);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: attempt {Attempt} could not give back key {Key}; trying again")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, JobId jobId, int attempt, string key);
}
