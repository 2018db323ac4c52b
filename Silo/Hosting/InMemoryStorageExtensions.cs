using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Runtime.Hosting;
using Orleans.Storage;
using Scheduler.Storage;

namespace Scheduler.Silo.Hosting;

public static class InMemoryStorageExtensions
{
    /// <summary>
    /// Ephemeral storage for grain state, job rows, logs and reminders: nothing survives the process.
    /// Pass one <paramref name="jobStore"/> to several silos of one process to let them share it.
    /// </summary>
    public static ISiloBuilder UseInMemorySchedulerStorage(this ISiloBuilder silo, InMemoryJobStore? jobStore = null, InMemoryGrainStorage? grainStorage = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (grainStorage is null)
            silo.Services.AddGrainStorage(SchedulerStorage.ProviderName, (sp, _) => ActivatorUtilities.CreateInstance<InMemoryGrainStorage>(sp));
        else
            silo.Services.AddGrainStorage(SchedulerStorage.ProviderName, (_, _) => grainStorage);
        silo.Services.TryAddSingleton<IJobStore>(jobStore ?? new InMemoryJobStore());
        silo.UseInMemoryReminderService();
        return silo;
    }
}
