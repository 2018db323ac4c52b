using Orleans.Providers;

namespace Scheduler.Jobs;

/// <summary>
/// Answers the management grain's broadcast with the jobs whose grains run them on this silo (<see cref="LeaseWatch"/>):
/// a listing of Running jobs asks every silo once, then reads those rows by key (<c>IJobStore.ListRunningAsync</c>).
/// </summary>
internal sealed class RunningJobsControllable(LeaseWatch leases) : IControllable
{
    /// <summary>The keyed-service name the management grain addresses.</summary>
    public const string Name = "scheduler-running";

    public Task<object?> ExecuteCommand(int command, object? arg) => Task.FromResult<object?>(leases.Running());
}
