using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Scheduler.Storage;

namespace Scheduler.Limits;

/// <summary>The durable state of one exclusive scope (grain storage state name "exclusivescope"). Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.ExclusiveScopeState")]
public sealed class ExclusiveScopeState
{
    [Id(0)] public long BarrierId { get; set; }
    /// <summary>The exclusive job the barrier is up for; null: the scope is open.</summary>
    [Id(1)] public JobId? Holder { get; set; }
    /// <summary>The holder's running attempt; 0 while it waits for the scope to drain.</summary>
    [Id(2)] public int HolderAttempt { get; set; }
    /// <summary>Exclusive jobs behind the holder, best first.</summary>
    [Id(3)] public List<WaitingJob> Waiting { get; set; } = [];
    /// <summary>Jobs the silos held back while the barrier was up.</summary>
    [Id(4)] public HashSet<JobId> Parked { get; set; } = [];
}

/// <summary>
/// One exclusive scope (see <see cref="IExclusiveScopeGrain"/>). The barrier and the exclusive queue are stored; the
/// silos' reports are not: a new activation waits for every live silo to report again before it lets the holder start.
/// </summary>
public sealed partial class ExclusiveScopeGrain(
    [PersistentState(ExclusiveScopeGrain.StateName, SchedulerStorage.ProviderName)] IPersistentState<ExclusiveScopeState> state,
    IClusterMembershipService membership,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ExclusiveScopeGrain> logger) : Grain, IExclusiveScopeGrain
{
    public const string StateName = "exclusivescope";

    /// <summary>How often a raised barrier checks that its holder still wants it (a cancelled or lost holder frees the scope).</summary>
    public static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StoppingWait = TimeSpan.FromSeconds(1);

    private readonly Dictionary<SiloAddress, (long Barrier, int Running)> _reports = [];
    private TaskCompletionSource? _changed;
    private bool _ready;
    private IGrainTimer? _checkTimer;

    private ExclusiveScopeState Scope => state.State;
    private string Name => this.GetPrimaryKeyString();
    // Ready only until the holder starts: then silos stop pulling the scope's queues again (nothing there may start).
    private ScopeBarrier Barrier => new(Scope.BarrierId, Scope.Holder, Scope.Holder is not null && _ready && Scope.HolderAttempt == 0);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Scope.Holder is not null)
            StartChecks();
        return Task.CompletedTask;
    }

    public async Task<KeyAnswer> Claim(KeyClaim claim)
    {
        if (Scope.Holder is null)
        {
            Raise(claim.Job);
            await WriteAsync();
            return Waiting($"waiting for exclusive use of {Name}: draining");
        }
        if (Scope.Holder == claim.Job)
        {
            if (Scope.HolderAttempt == claim.Attempt)
                return new KeyAnswer { Granted = true, GrantedAt = time.GetUtcNow() };
            if (!_ready)
                return Waiting($"waiting for exclusive use of {Name}: draining, {RunningElsewhere()}");
            Scope.HolderAttempt = claim.Attempt;
            await WriteAsync();
            Signal();
            return new KeyAnswer { Granted = true, GrantedAt = time.GetUtcNow() };
        }
        if (!Scope.Waiting.Any(w => w.Job == claim.Job))
        {
            Scope.Waiting.Add(new WaitingJob(claim.Job, claim.Priority, claim.QueuedAt, time.GetUtcNow()));
            Scope.Waiting.Sort(WaitingJob.Compare);
            await WriteAsync();
        }
        return Waiting($"waiting for exclusive use of {Name}: held by {Scope.Holder}");
    }

    private static KeyAnswer Waiting(string reason) => new() { Granted = false, Reason = reason };

    private void Raise(JobId holder)
    {
        Scope.Holder = holder;
        Scope.HolderAttempt = 0;
        Scope.BarrierId++;
        _ready = false;
        StartChecks();
        Signal();
        LogRaised(logger, Name, holder);
    }

    public async Task Release(JobId job, int attempt)
    {
        if (Scope.Holder != job || Scope.HolderAttempt != attempt)
        {
            // A waiting exclusive job that gives up (attempt 0) leaves the queue.
            if (attempt == 0 && Scope.Waiting.RemoveAll(w => w.Job == job) > 0)
                await WriteAsync();
            return;
        }
        await DropAsync();
    }

    /// <summary>The holder is done: the next exclusive job's barrier goes up, or the scope opens and held-back jobs go back to their queues.</summary>
    private async Task DropAsync()
    {
        LogDropped(logger, Name, Scope.Holder);
        Scope.Holder = null;
        Scope.HolderAttempt = 0;
        _ready = false;
        ImmutableArray<JobId> parked = [];
        if (Scope.Waiting.Count > 0)
        {
            var next = Scope.Waiting[0];
            Scope.Waiting.RemoveAt(0);
            Raise(next.Job);
        }
        else
        {
            Scope.BarrierId++;
            parked = [.. Scope.Parked];
            Scope.Parked.Clear();
            StopChecks();
        }
        await WriteAsync();
        Signal();
        foreach (var job in parked)
            GrainFactory.GetGrain<IJobGrain>(job.Value).EnsureQueued().Ignore();
    }

    public async Task<ScopeBarrier> Watch(SiloAddress silo, ScopeBarrier known, int running, TimeSpan maxWait)
    {
        _reports[silo] = (known.Id, running);
        CheckDrained();
        if (Barrier != known || maxWait <= TimeSpan.Zero)
            return Barrier;
        _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // As a queue shard's watch: once the silo is stopping, answer soon, so the grain can move without waiting out every poll.
        var stopping = lifetime.ApplicationStopping;
        try
        {
            if (stopping.IsCancellationRequested)
                await _changed.Task.WaitAsync(maxWait < StoppingWait ? maxWait : StoppingWait);
            else
                await _changed.Task.WaitAsync(maxWait, stopping);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }
        return Barrier;
    }

    public Task Report(SiloAddress silo, long barrier, int running)
    {
        _reports[silo] = (barrier, running);
        CheckDrained();
        return Task.CompletedTask;
    }

    public async Task Park(ImmutableArray<JobId> jobs)
    {
        if (Scope.Holder is null)
        {
            // Opened meanwhile: straight back to their queues.
            foreach (var job in jobs)
                GrainFactory.GetGrain<IJobGrain>(job.Value).EnsureQueued().Ignore();
            return;
        }
        Scope.Parked.UnionWith(jobs);
        await WriteAsync();
    }

    public Task<ScopeStatus> GetStatus() => Task.FromResult(new ScopeStatus
    {
        Scope = Name,
        Barrier = Barrier,
        HolderRunning = Scope.HolderAttempt > 0,
        Waiting = [.. Scope.Waiting.Select(w => new KeyWaiter(w.Job, w.Priority, w.Since, false))],
        Parked = Scope.Parked.Count,
        Silos = [.. _reports.Select(r => $"{r.Key}: {r.Value.Running} running under barrier {r.Value.Barrier}")],
    });

    /// <summary>
    /// The scope has drained once every live silo has reported, under the current barrier, that it runs no job of the
    /// scope: a silo that knows the barrier starts none, so none can start any more. Then the holder is woken.
    /// </summary>
    private void CheckDrained()
    {
        if (Scope.Holder is not { } holder || _ready || Scope.HolderAttempt > 0)
            return;
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active)
                continue;
            if (!_reports.TryGetValue(member.SiloAddress, out var report) || report.Barrier != Scope.BarrierId || report.Running > 0)
                return;
        }
        _ready = true;
        Signal();
        LogDrained(logger, Name, holder);
        GrainFactory.GetGrain<IJobGrain>(holder.Value).EnsureQueued().Ignore();
    }

    private string RunningElsewhere()
    {
        var running = _reports.Values.Where(r => r.Barrier == Scope.BarrierId).Sum(r => r.Running);
        var silent = membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active
            && (!_reports.TryGetValue(m.SiloAddress, out var r) || r.Barrier != Scope.BarrierId));
        return silent > 0 ? $"{running} jobs still running, {silent} silos not heard from yet" : $"{running} jobs still running";
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = null;
        changed?.TrySetResult();
    }

    private void StartChecks() =>
        _checkTimer ??= this.RegisterGrainTimer(static (self, _) => self.CheckHolderAsync(), this,
            new GrainTimerCreationOptions { DueTime = CheckPeriod, Period = CheckPeriod, KeepAlive = true });

    private void StopChecks()
    {
        _checkTimer?.Dispose();
        _checkTimer = null;
    }

    /// <summary>
    /// The holder's end may not have been reported (its release was lost, or it was cancelled while it waited): ask
    /// its job. A drained scope whose holder has not come yet wakes it again (a lost wake).
    /// </summary>
    private async Task CheckHolderAsync()
    {
        CheckDrained();
        if (Scope.Holder is not { } holder)
            return;
        var job = GrainFactory.GetGrain<IJobGrain>(holder.Value);
        try
        {
            if (Scope.HolderAttempt > 0)
            {
                if (!await job.HoldsKeys(Scope.HolderAttempt) && Scope.Holder == holder)
                    await DropAsync();
                return;
            }
            var status = await job.GetStatus();
            if (Scope.Holder != holder || Scope.HolderAttempt > 0)
                return;
            if (status?.State != JobState.Queued)
                await DropAsync();
            else if (_ready)
                await job.EnsureQueued();
        }
        catch (Exception e)
        {
            LogCheckFailed(logger, e, Name, holder);
        }
    }

    /// <summary>
    /// Stores the state; on failure (storage down, or another activation wrote meanwhile) this activation is dropped,
    /// so the next call reloads what is stored instead of answering from memory that is ahead of it.
    /// </summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scope {Scope}: barrier raised for exclusive job {JobId}; draining")]
    private static partial void LogRaised(ILogger logger, string scope, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scope {Scope}: drained; exclusive job {JobId} may start")]
    private static partial void LogDrained(ILogger logger, string scope, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scope {Scope}: barrier of {JobId} dropped")]
    private static partial void LogDropped(ILogger logger, string scope, JobId? jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scope {Scope}: could not check its holder {JobId}")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string scope, JobId jobId);
}
