using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Retention;

/// <summary>The cluster's retention runs (key 0): one activation, so two silos never prune at once.</summary>
[Alias("scheduler.IRetentionGrain")]
public interface IRetentionGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Sets the reminder to the configured interval, its next tick a minute away (every silo calls this when it starts,
    /// so a run follows each start, and a changed interval takes effect).
    /// </summary>
    [Alias("Start")]
    Task Start();
}

/// <summary>
/// Runs <see cref="RetentionPruner"/> on a reminder (<see cref="RetentionOptions.Interval"/>). Pruning is off every
/// hot path: nothing calls this grain but its reminder and the silos' start, and a run goes on between its ticks, in
/// batches, off the reminder's call. A tick that finds a run still going adds nothing.
/// </summary>
public sealed partial class RetentionGrain(
    RetentionPruner pruner,
    IOptions<SchedulerOptions> options,
    ILogger<RetentionGrain> logger) : Grain, IRetentionGrain, IRemindable
{
    public const string ReminderName = "retention";
    private readonly CancellationTokenSource _deactivating = new();
    private Task? _run;

    private TimeSpan Interval => options.Value.Retention.Interval;

    public Task Start() => this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), Interval);

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
            return Task.CompletedTask;
        // A long run (a first one over a large backlog) keeps its activation: the ticks renew this.
        DelayDeactivation(Interval * 2);
        if (_run is null or { IsCompleted: true })
            _run = RunLoggedAsync();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _deactivating.CancelAsync();
        if (_run is not null)
            await _run.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
    }

    private async Task RunLoggedAsync()
    {
        try
        {
            await pruner.RunAsync(_deactivating.Token);
        }
        catch (OperationCanceledException) when (_deactivating.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogRunFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention run failed; the next tick tries again")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

/// <summary>
/// Registers the retention reminder when the silo becomes active, in the background, retrying while storage is
/// unreachable, so a silo never waits on it to start. Nothing when retention is disabled.
/// </summary>
public sealed partial class RetentionStarter(IGrainFactory grains, IOptions<SchedulerOptions> options, ILogger<RetentionStarter> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _started = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RetentionStarter), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        if (options.Value.Retention.Enabled)
            _started = Task.Run(StartAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _started.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task StartAsync()
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await grains.Reference<IRetentionGrain>(0).Start();
                return;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                LogStartFailed(logger, e, delay);
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention: could not register its reminder; trying again in {Delay}")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, TimeSpan delay);
}
