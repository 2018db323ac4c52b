using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;
using Scheduler.Limits;

namespace Scheduler.Storage;

/// <summary>
/// Grain storage for concurrency key grains (provider <see cref="ProviderName"/>): the state, serialized with the Orleans
/// binary serializer, in the key's own row of <see cref="IFlowKeyStore"/> (<c>scheduler_flow_keys</c>), so that behind
/// a <see cref="GroupCommitJobStore"/> the claims and releases of many keys share one transaction, as job writes do.
/// The ETag is the row's version; a write over another version fails with <see cref="InconsistentStateException"/>
/// (what stops a stale activation from granting on old state). A key without a row (stored before schema version 11)
/// is read from <see cref="LegacyState"/>, where the profile has one.
/// </summary>
public sealed class FlowKeyGrainStorage(IFlowKeyStore store, Serializer serializer, LegacyState? legacy = null) : IGrainStorage
{
    /// <summary>The provider name key grains name in their <c>[PersistentState]</c>.</summary>
    public const string ProviderName = "scheduler-flowkeys";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = KeyOf<T>(grainId);
        var found = await store.ReadFlowKeysAsync([key]).ConfigureAwait(false);
        if (found.TryGetValue(key, out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.Data);
            grainState.ETag = stored.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
            return;
        }
        if (legacy is not null)
            await legacy.ReadFlowKeyAsync(grainId, grainState).ConfigureAwait(false);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = KeyOf<T>(grainId);
        var current = grainState.ETag is null ? 0 : int.Parse(grainState.ETag, CultureInfo.InvariantCulture);
        var record = new FlowKeyRecord(key, current + 1, serializer.SerializeToArray(grainState.State));
        var conflicts = await store.SaveFlowKeysAsync([record]).ConfigureAwait(false);
        if (conflicts.Count > 0)
            throw new InconsistentStateException($"key {key}: its stored state is no longer at version {current}: another writer changed it", grainState.ETag, (string?)null);
        grainState.ETag = record.Version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        throw new NotSupportedException("Key rows are not deleted through grain storage.");

    private static string KeyOf<T>(GrainId grainId)
    {
        if (typeof(T) != typeof(FlowKeyState))
            throw new NotSupportedException($"{nameof(FlowKeyGrainStorage)} stores key grain state only, not {typeof(T)}.");
        return grainId.Key.ToString();
    }
}
