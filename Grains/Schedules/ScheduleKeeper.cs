using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scheduler.Storage;

namespace Scheduler.Schedules;

/// <summary>
/// Wakes every schedule (<see cref="IScheduleGrain.Wake"/>) when the cluster starts and whenever a silo of the cluster
/// is declared dead. A schedule's reminder ticks once a minute, so on its own a schedule whose silo died (or a whole
/// cluster that restarted) would resume up to a minute late; woken, it resumes within the failure detection time,
/// and fires what it missed as its policy says.
/// </summary>
/// <remarks>
/// Only the oldest active silo (as this silo sees the membership) wakes them, so a death costs one pass over the
/// schedules, not one per silo, and a silo joining a running cluster costs none. Two silos that each believe they are
/// the oldest both wake them, which is harmless; a schedule missed in between still has its reminder.
/// </remarks>
public sealed partial class ScheduleKeeper(IServiceProvider services, IGrainFactory grains, IClusterMembershipService membership,
    ILocalSiloDetails localSilo, ILogger<ScheduleKeeper> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private const int PageSize = 500;
    private const int Concurrency = 32;
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ScheduleKeeper), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        _running = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync()
    {
        if (services.GetService<IScheduleStore>() is not { } store)
            return;
        // Joining a running cluster: its oldest silo woke the schedules when it started, and they run.
        if (IsOldest(membership.CurrentSnapshot))
            await WakeAllAsync(store);
        var dead = new HashSet<SiloAddress>();
        var first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stopping.Token))
            {
                var newlyDead = snapshot.Members.Values.Count(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress));
                // The first snapshot lists silos dead before this one started: the wake at the start covered them.
                if (newlyDead > 0 && !first && IsOldest(snapshot))
                    await WakeAllAsync(store);
                first = false;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>True if no active silo started before this one (by generation, then address, so all silos agree).</summary>
    private bool IsOldest(ClusterMembershipSnapshot snapshot)
    {
        var self = localSilo.SiloAddress;
        return !snapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self) && IsOlder(m.SiloAddress, self));
    }

    private static bool IsOlder(SiloAddress a, SiloAddress b) =>
        a.Generation != b.Generation ? a.Generation < b.Generation : string.CompareOrdinal(a.ToString(), b.ToString()) < 0;

    private async Task WakeAllAsync(IScheduleStore store)
    {
        var delay = TimeSpan.FromSeconds(1);
        string? after = null;
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                var page = await store.ListSchedulesAsync(after, PageSize, _stopping.Token);
                await Parallel.ForEachAsync(page, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _stopping.Token },
                    async (row, _) => await grains.GetGrain<IScheduleGrain>(row.Id).Wake());
                if (page.Count < PageSize)
                    return;
                after = page[^1].Id;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                LogWakeFailed(logger, e, delay);
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waking the schedules failed; trying again in {Delay}")]
    private static partial void LogWakeFailed(ILogger logger, Exception exception, TimeSpan delay);
}
