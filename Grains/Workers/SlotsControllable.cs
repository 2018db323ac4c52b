using Microsoft.Extensions.Options;
using Orleans.Providers;

namespace Scheduler.Workers;

/// <summary>
/// Answers the management grain's broadcast with this silo's slots (see <c>ISchedulerGrain.ListSilos</c>): each silo
/// reads its own worker pool, so the overview asks every silo once through the runtime's per-silo control targets
/// instead of a grain of ours that every silo would report to.
/// </summary>
internal sealed class SlotsControllable(Slots slots, WorkerPool pool, IOptions<SchedulerOptions> options, ILocalSiloDetails silo) : IControllable
{
    /// <summary>The keyed-service name the management grain addresses.</summary>
    public const string Name = "scheduler-slots";

    public Task<object?> ExecuteCommand(int command, object? arg) =>
        Task.FromResult<object?>(new SiloSlots(silo.SiloAddress.ToString(), silo.Name, options.Value.MaxConcurrentJobs, slots.Running, pool.IsRunning));
}
