using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Scheduler.Storage;

public static class SchedulerStorage
{
    /// <summary>Name of the Orleans grain storage provider the scheduler's grains use.</summary>
    public const string ProviderName = "scheduler";

    /// <summary>
    /// Reads state a grain stored in the Orleans grain storage (provider <see cref="ProviderName"/>) before it moved
    /// into Scheduler's own rows, into <paramref name="grainState"/> with <paramref name="etag"/>. False (and
    /// <paramref name="grainState"/> untouched) when there is no such provider or no such state.
    /// </summary>
    public static async Task<bool> ReadLegacyStateAsync<T>(IServiceProvider services, string stateName, GrainId grainId,
        IGrainState<T> grainState, string etag)
    {
        var legacy = services.GetKeyedService<IGrainStorage>(ProviderName);
        if (legacy is null)
            return false;
        var old = new GrainState<T>();
        await legacy.ReadStateAsync(stateName, grainId, old).ConfigureAwait(false);
        if (!old.RecordExists)
            return false;
        grainState.State = old.State;
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return true;
    }
}
