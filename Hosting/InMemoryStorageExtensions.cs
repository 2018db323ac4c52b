using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Runtime.Hosting;
using Orleans.Storage;
using Scheduler.Storage;

namespace Scheduler.Hosting;

public static class InMemoryStorageExtensions
{
    /// <summary>
    /// Ephemeral storage for grain state, job rows, logs and reminders: nothing survives the process.
    /// Pass one <paramref name="jobStore"/> and one <paramref name="grainStates"/> to several silos of one process to let them share them.
    /// </summary>
    public static ISiloBuilder UseInMemorySchedulerStorage(this ISiloBuilder silo, InMemoryJobStore? jobStore = null, InMemoryGrainStateStore? grainStates = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var states = grainStates ?? new InMemoryGrainStateStore();
        silo.Services.AddGrainStorage(SchedulerStorage.ProviderName, (sp, _) => ActivatorUtilities.CreateInstance<InMemoryGrainStorage>(sp, states));
        var store = jobStore ?? new InMemoryJobStore();
        silo.Services.AddSchedulerStore(_ => store);
        silo.UseInMemoryReminderService();
        return silo;
    }
}
