namespace Scheduler.Client;

/// <summary>The cluster's silos.</summary>
public partial interface ISchedulerClient
{
    /// <summary>Every active silo with its job slots and how many of them run a job now.</summary>
    Task<IReadOnlyList<SiloSlots>> ListSilosAsync(CancellationToken cancellationToken = default);
}
