using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Scheduler.Limits;
using Scheduler.Storage;

namespace Scheduler.Protection;

/// <summary>The durable state of one breaker (grain storage state name "breaker"): only its transitions are stored. Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.BreakerGrainState")]
public sealed class BreakerGrainState
{
    /// <summary>Closed, open or half-open.</summary>
    [Id(0)] public BreakerState State { get; set; }
    /// <summary>While open: when a trial may run.</summary>
    [Id(1)] public DateTimeOffset? OpenUntil { get; set; }
    /// <summary>While half-open: the trial job, and since when it runs.</summary>
    [Id(2)] public JobId? Trial { get; set; }
    /// <summary>When the trial was granted.</summary>
    [Id(3)] public DateTimeOffset? TrialSince { get; set; }
    /// <summary>Why it opened last.</summary>
    [Id(4)] public string? Reason { get; set; }
    /// <summary>Openings since it was last closed.</summary>
    [Id(5)] public int Opened { get; set; }
}

/// <summary>
/// One circuit breaker (see <see cref="IBreakerGrain"/>), in the manner of Polly's: closed, open for a cool-down,
/// half-open with one trial. Counts (failures in a row, and a sliding window of 20 buckets) are kept in memory: a new
/// activation counts afresh; transitions are stored. Held jobs stay Queued in their rows, out of their queues; a few of
/// the best are remembered to wake one as the trial when the cool-down ends (else every shard reloads and the first
/// job to come back is the trial); closing reloads every shard, which brings them all back in their order.
/// </summary>
public sealed partial class BreakerGrain(
    [PersistentState(BreakerGrain.StateName, SchedulerStorage.ProviderName)] IPersistentState<BreakerGrainState> state,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<BreakerGrain> logger) : Grain, IBreakerGrain, IRemindable
{
    /// <summary>The grain storage state name (unique, so no other grain type shares its rows).</summary>
    public const string StateName = "breaker";

    private const string ReminderName = "breaker";
    private const int Buckets = 20;
    private const int RememberedWaiters = 64;

    private readonly List<(long Start, int Total, int Failed)> _window = [];
    private readonly SortedSet<WaitingJob> _waiters = new(Comparer<WaitingJob>.Create(WaitingJob.Compare));
    private int _consecutive;
    private IGrainTimer? _timer;

    private string Target => this.GetPrimaryKeyString();
    private BreakerGrainState Breaker => state.State;
    private BreakerSettings? Settings => options.Value.Breakers.SettingsOf(Target);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Breaker.State != BreakerState.Closed)
            ScheduleCheck();
        return Task.CompletedTask;
    }

    public async Task Report(ImmutableArray<BreakerOutcome> outcomes)
    {
        if (Settings is not { } settings)
            return;
        foreach (var outcome in outcomes)
        {
            switch (Breaker.State)
            {
                case BreakerState.Closed:
                    Count(settings, outcome);
                    if (Trips(settings, outcome) is { } reason)
                    {
                        await OpenAsync(settings, reason);
                        return;
                    }
                    break;
                case BreakerState.HalfOpen when outcome.Job == Breaker.Trial:
                    if (outcome.Failed)
                        await OpenAsync(settings, $"trial job {outcome.Job} failed: {outcome.Error}");
                    else
                        await CloseAsync($"trial job {outcome.Job} succeeded");
                    return;
            }
        }
    }

    public async Task<KeyAnswer> Claim(KeyClaim claim)
    {
        var now = time.GetUtcNow();
        switch (Breaker.State)
        {
            case BreakerState.Closed:
                return new KeyAnswer { Granted = true };
            case BreakerState.HalfOpen when claim.Job == Breaker.Trial:
                return new KeyAnswer { Granted = true };
            case BreakerState.Open when Breaker.OpenUntil <= now:
                Breaker.State = BreakerState.HalfOpen;
                Breaker.Trial = claim.Job;
                Breaker.TrialSince = now;
                await WriteAsync();
                _waiters.RemoveWhere(w => w.Job == claim.Job);
                LogHalfOpen(logger, Target, claim.Job);
                ScheduleCheck();
                return new KeyAnswer { Granted = true };
        }
        _waiters.Add(new WaitingJob(claim.Job, claim.Priority, claim.QueuedAt, now));
        if (_waiters.Count > RememberedWaiters)
            _waiters.Remove(_waiters.Max!);
        var reason = Breaker.State == BreakerState.Open
            ? $"held by breaker {Target}: open until {Breaker.OpenUntil:O} ({Breaker.Reason})"
            : $"held by breaker {Target}: half-open, trial job {Breaker.Trial} runs";
        return new KeyAnswer { Granted = false, Reason = reason };
    }

    public async Task<BreakerStatus> Reset()
    {
        if (BreakerTargets.Problem(Target) is { } problem)
            throw new ArgumentException(problem);
        if (Settings is null)
        {
            var configured = options.Value.Breakers.Targets().ToList();
            throw new ArgumentException($"no breaker is configured for {Target}; configured: {(configured.Count == 0 ? "none" : string.Join(", ", configured))}");
        }
        await CloseAsync("reset");
        return Status();
    }

    public Task<BreakerStatus> GetStatus() => Task.FromResult(Status());

    private BreakerStatus Status()
    {
        var settings = Settings;
        Prune(settings);
        return new BreakerStatus
        {
            Target = Target,
            State = Breaker.State,
            ConsecutiveFailures = _consecutive,
            WindowFailures = _window.Sum(b => b.Failed),
            WindowOutcomes = _window.Sum(b => b.Total),
            OpenUntil = Breaker.State == BreakerState.Open ? Breaker.OpenUntil : null,
            Trial = Breaker.State == BreakerState.HalfOpen ? Breaker.Trial : null,
            Reason = Breaker.Reason,
            Opened = Breaker.Opened,
            Settings = settings?.Describe(),
        };
    }

    private void Count(BreakerSettings settings, BreakerOutcome outcome)
    {
        _consecutive = outcome.Failed ? _consecutive + 1 : 0;
        var width = settings.Window.Ticks / Buckets;
        var start = outcome.At.UtcTicks - outcome.At.UtcTicks % Math.Max(1, width);
        Prune(settings);
        if (_window.Count > 0 && _window[^1].Start == start)
            _window[^1] = (start, _window[^1].Total + 1, _window[^1].Failed + (outcome.Failed ? 1 : 0));
        else
            _window.Add((start, 1, outcome.Failed ? 1 : 0));
    }

    private void Prune(BreakerSettings? settings)
    {
        if (settings is null)
            return;
        var from = time.GetUtcNow().UtcTicks - settings.Window.Ticks;
        _window.RemoveAll(b => b.Start + settings.Window.Ticks / Buckets <= from);
    }

    private string? Trips(BreakerSettings settings, BreakerOutcome outcome)
    {
        var last = outcome.Error is { } error ? $"; last error: {error}" : "";
        if (settings.ConsecutiveFailures is { } limit && _consecutive >= limit)
            return $"{_consecutive} failures in a row{last}";
        if (settings.FailureRatio is { } ratio && outcome.Failed)
        {
            var total = _window.Sum(b => b.Total);
            var failed = _window.Sum(b => b.Failed);
            if (total >= settings.MinimumThroughput && failed >= ratio * total)
                return $"{failed} of {total} attempts failed in {FlowKeys.Describe(settings.Window)}{last}";
        }
        return null;
    }

    private async Task OpenAsync(BreakerSettings settings, string reason)
    {
        var wasOpen = Breaker.State != BreakerState.Closed;
        Breaker.State = BreakerState.Open;
        Breaker.OpenUntil = time.GetUtcNow() + settings.CoolDown;
        Breaker.Trial = null;
        Breaker.TrialSince = null;
        Breaker.Reason = reason;
        Breaker.Opened++;
        await WriteAsync();
        LogOpened(logger, Target, reason, Breaker.OpenUntil.Value);
        ScheduleCheck();
        if (!wasOpen)
        {
            // The reminder brings the breaker back to wake a trial should its activation be lost while open.
            await this.RegisterOrUpdateReminder(ReminderName, ReminderPeriod, ReminderPeriod);
            await GrainFactory.GetGrain<IHoldDirectoryGrain>(0).SetBreaker(Target, true);
        }
    }

    private async Task CloseAsync(string why)
    {
        var wasOpen = Breaker.State != BreakerState.Closed;
        Breaker.State = BreakerState.Closed;
        Breaker.OpenUntil = null;
        Breaker.Trial = null;
        Breaker.TrialSince = null;
        Breaker.Opened = 0;
        _consecutive = 0;
        _window.Clear();
        _waiters.Clear();
        _timer?.Dispose();
        _timer = null;
        await WriteAsync();
        await GrainFactory.GetGrain<IHoldDirectoryGrain>(0).SetBreaker(Target, false);
        if (await this.GetReminder(ReminderName) is { } reminder)
            await this.UnregisterReminder(reminder);
        // Always (a reset of a closed breaker too): held jobs wait in their rows, out of their queues.
        var back = await HeldJobs.ReloadAsync(GrainFactory, options.Value, options.Value.Queues);
        if (wasOpen)
            LogClosed(logger, Target, why, back);
    }

    /// <summary>Arms the timer for the next check: the end of the cool-down, or the trial's deadline.</summary>
    private void ScheduleCheck()
    {
        var at = Breaker.State == BreakerState.Open ? Breaker.OpenUntil : Breaker.TrialSince + TrialTimeout;
        if (at is null)
            return;
        var due = at.Value - time.GetUtcNow();
        if (due < TimeSpan.Zero)
            due = TimeSpan.Zero;
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(static (self, _) => self.CheckAsync(), this,
            new GrainTimerCreationOptions { DueTime = due, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    /// <summary>Longest a trial may go without an outcome before another job is tried (a trial lost with its silo, or one that waits for a key).</summary>
    private TimeSpan TrialTimeout => (Settings?.CoolDown ?? TimeSpan.FromSeconds(30)) + options.Value.LeasePeriod * 2;

    private async Task CheckAsync()
    {
        var now = time.GetUtcNow();
        if (Breaker.State == BreakerState.HalfOpen && Breaker.Trial is { } trial && Breaker.TrialSince + TrialTimeout <= now)
        {
            var status = await GrainFactory.GetGrain<IJobGrain>(trial.Value).GetStatus();
            if (status?.State == JobState.Running)
            {
                Breaker.TrialSince = now;
                ScheduleCheck();
                return;
            }
            // The trial no longer runs and reported nothing: try another job.
            Breaker.State = BreakerState.Open;
            Breaker.OpenUntil = now;
            Breaker.Trial = null;
            await WriteAsync();
        }
        if (Breaker.State == BreakerState.Open && Breaker.OpenUntil <= now)
            await WakeTrialAsync();
        // A timer may tick a few milliseconds early: look again when due, or nothing would until the reminder.
        else if (Breaker.State != BreakerState.Closed)
            ScheduleCheck();
    }

    /// <summary>The cool-down is over: the best remembered job comes back to be the trial (or, none remembered, every held job does).</summary>
    private async Task WakeTrialAsync()
    {
        if (_waiters.Min is { } best)
        {
            _waiters.Remove(best);
            // Not awaited: that job may be asking this breaker right now.
            GrainFactory.GetGrain<IJobGrain>(best.Job.Value).EnsureQueued().Ignore();
        }
        else
        {
            await HeldJobs.ReloadAsync(GrainFactory, options.Value, options.Value.Queues);
        }
        // Checked again after a while: a woken job may be gone meanwhile.
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(static (self, _) => self.CheckAsync(), this,
            new GrainTimerCreationOptions { DueTime = options.Value.LeasePeriod, Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (Breaker.State == BreakerState.Closed)
        {
            if (await this.GetReminder(ReminderName) is { } reminder)
                await this.UnregisterReminder(reminder);
            return;
        }
        await CheckAsync();
    }

    private TimeSpan ReminderPeriod
    {
        get
        {
            var minimum = ServiceProvider.GetService<IOptions<ReminderOptions>>()?.Value.MinimumReminderPeriod ?? TimeSpan.FromMinutes(1);
            return minimum > TimeSpan.FromMinutes(1) ? minimum : TimeSpan.FromMinutes(1);
        }
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Breaker {Target} opened: {Reason}; jobs are held until {Until}")]
    private static partial void LogOpened(ILogger logger, string target, string reason, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Information, Message = "Breaker {Target} half-open: job {JobId} runs as the trial")]
    private static partial void LogHalfOpen(ILogger logger, string target, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Breaker {Target} closed ({Why}); {Back} jobs back in their queues")]
    private static partial void LogClosed(ILogger logger, string target, string why, int back);
}
