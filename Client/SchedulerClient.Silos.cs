namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public Task<IReadOnlyList<SiloSlots>> ListSilosAsync(CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<SiloSlots>>(async g => await g.Reference<ISchedulerGrain>(0).ListSilos(), cancellationToken);
}
