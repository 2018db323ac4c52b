using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// Ephemeral grain storage kept in this process (no grain calls, unlike Orleans' memory provider), with the
/// same version check as the durable providers: a write with a stale ETag fails with <see cref="InconsistentStateException"/>.
/// State is stored serialized, so callers never share objects with the store.
/// </summary>
public sealed class InMemoryGrainStorage(Serializer serializer, InMemoryGrainStateStore store) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string StateName, GrainId Grain), InMemoryGrainStateStore.Entry> _entries = store.Entries;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_entries.TryGetValue((stateName, grainId), out var entry))
        {
            grainState.State = serializer.Deserialize<T>(entry.Payload);
            grainState.ETag = entry.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var payload = serializer.SerializeToArray(grainState.State);
        while (true)
        {
            if (_entries.TryGetValue(key, out var current))
            {
                if (grainState.ETag != current.Version.ToString(CultureInfo.InvariantCulture))
                    throw new InconsistentStateException($"version conflict writing {stateName} of {grainId}", grainState.ETag, current.Version.ToString(CultureInfo.InvariantCulture));
                var next = new InMemoryGrainStateStore.Entry(payload, current.Version + 1);
                if (_entries.TryUpdate(key, next, current))
                {
                    grainState.ETag = next.Version.ToString(CultureInfo.InvariantCulture);
                    grainState.RecordExists = true;
                    return Task.CompletedTask;
                }
            }
            else
            {
                if (grainState.ETag is not null)
                    throw new InconsistentStateException($"{stateName} of {grainId} was deleted by another writer", grainState.ETag, (string?)null);
                if (_entries.TryAdd(key, new InMemoryGrainStateStore.Entry(payload, 1)))
                {
                    grainState.ETag = "1";
                    grainState.RecordExists = true;
                    return Task.CompletedTask;
                }
            }
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _entries.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}

/// <summary>
/// The rows behind <see cref="InMemoryGrainStorage"/>. One per silo by default; several silos of one process may
/// share one (it stands in for a shared database), which is what multi-silo tests do.
/// </summary>
public sealed class InMemoryGrainStateStore
{
    internal ConcurrentDictionary<(string StateName, GrainId Grain), Entry> Entries { get; } = new();

    internal sealed record Entry(byte[] Payload, long Version);
}
