using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Storage;

namespace Scheduler.Workflows;

/// <summary>One watchdog per bucket of workflows (<see cref="WorkflowRecord.Buckets"/>; keyed by the bucket).</summary>
[Alias("scheduler.IWorkflowWatchdogGrain")]
public interface IWorkflowWatchdogGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the watchdog's reminder exists (every silo calls this for every bucket when it starts).</summary>
    [Alias("Start")]
    Task Start();

    /// <summary>Looks once, now: reconciles each watched workflow of the bucket that has been quiet for a while. Returns how many.</summary>
    [Alias("Sweep")]
    Task<int> Sweep();
}

/// <summary>
/// Finds the workflows that a lost message could have stranded: those of its bucket that have released jobs and have
/// not changed for <see cref="SchedulerOptions.WorkflowQuietPeriod"/>, from their rows (an indexed query, once a
/// minute per bucket, on a reminder), and has each check its jobs (<see cref="IWorkflowGrain.Reconcile"/>). This
/// replaces a reminder per workflow, whose registration cost a commit of its own on every submit.
/// </summary>
public sealed partial class WorkflowWatchdogGrain(
    IWorkflowStore store,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<WorkflowWatchdogGrain> logger) : Grain, IWorkflowWatchdogGrain, IRemindable
{
    private const string ReminderName = "watch";
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    /// <summary>Most workflows one sweep reconciles; the rest wait for the next.</summary>
    public const int MaxPerSweep = 1_000;

    private const int Concurrency = 32;
    private Task<int>? _sweep;

    private int Bucket => (int)this.GetPrimaryKeyLong();

    public async Task Start()
    {
        if (await this.GetReminder(ReminderName) is null)
            await this.RegisterOrUpdateReminder(ReminderName, Period, Period);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The sweep runs off the reminder's call; a tick that finds one still going adds nothing.
        if (reminderName == ReminderName && _sweep is null or { IsCompleted: true })
            _sweep = SweepLoggedAsync();
        return Task.CompletedTask;
    }

    public Task<int> Sweep() => _sweep is { IsCompleted: false } running ? running : _sweep = SweepLoggedAsync();

    private async Task<int> SweepLoggedAsync()
    {
        try
        {
            return await SweepAsync();
        }
        catch (Exception e)
        {
            LogSweepFailed(logger, e, Bucket);
            return 0;
        }
    }

    private async Task<int> SweepAsync()
    {
        var quiet = await store.ListWatchedWorkflowsAsync(Bucket, time.GetUtcNow() - options.Value.WorkflowQuietPeriod, MaxPerSweep);
        if (quiet.Count == 0)
            return 0;
        var failures = 0;
        var checkedOk = new System.Collections.Concurrent.ConcurrentBag<WorkflowId>();
        foreach (var chunk in quiet.Chunk(Concurrency))
        {
            await Task.WhenAll(chunk.Select(async id =>
            {
                try
                {
                    await GrainFactory.Reference<IWorkflowGrain>(id.Value).Reconcile();
                    checkedOk.Add(id);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    LogReconcileFailed(logger, e, id);
                }
            }));
        }
        // Checked workflows whose jobs simply run on go to the back of the list, so that with more quiet workflows
        // than one sweep takes, every one of them is checked in turn, not only the oldest.
        await store.TouchWorkflowsAsync([.. checkedOk], time.GetUtcNow());
        LogSwept(logger, Bucket, quiet.Count, failures);
        return quiet.Count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Workflow watchdog {Bucket}: checked {Count} quiet workflows with jobs out ({Failures} failed; tried again next time)")]
    private static partial void LogSwept(ILogger logger, int bucket, int count, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow watchdog {Bucket}: the sweep failed; the next tick tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, int bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow {WorkflowId}: reconciling on the watchdog's call failed")]
    private static partial void LogReconcileFailed(ILogger logger, Exception exception, WorkflowId workflowId);
}

/// <summary>
/// Starts the workflow watchdogs when the silo becomes active: registers each bucket's reminder if it is missing, in
/// the background, retrying while storage is unreachable, so a silo never waits on it to start.
/// </summary>
public sealed partial class WorkflowWatchdogStarter(IGrainFactory grains, ILogger<WorkflowWatchdogStarter> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _started = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(WorkflowWatchdogStarter), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        _started = Task.Run(StartAllAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _started.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task StartAllAsync()
    {
        var delay = TimeSpan.FromSeconds(1);
        for (var bucket = 0; bucket < WorkflowRecord.Buckets && !_stopping.IsCancellationRequested;)
        {
            try
            {
                await grains.Reference<IWorkflowWatchdogGrain>(bucket).Start();
                bucket++;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                LogStartFailed(logger, e, bucket, delay);
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow watchdog {Bucket}: could not register its reminder; trying again in {Delay}")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, int bucket, TimeSpan delay);
}
