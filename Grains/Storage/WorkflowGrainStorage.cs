using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// Grain storage for workflow grains (provider <see cref="ProviderName"/>): the state, serialized with the Orleans
/// binary serializer, in the workflow's own row of <see cref="IWorkflowStore"/> (<c>scheduler_workflows</c>), so that
/// behind a <see cref="GroupCommitJobStore"/> the writes of many workflows share one transaction, as job writes do.
/// Each write also records whether the workflow has released jobs it has not heard the end of (what the
/// <see cref="WorkflowWatchdogGrain"/> looks for). The ETag is the row's version; a write over another version fails
/// with <see cref="InconsistentStateException"/>. A workflow without a row (stored before schema version 5) is read
/// from <see cref="LegacyState"/>, where the profile has one.
/// </summary>
public sealed class WorkflowGrainStorage(IWorkflowStore store, Serializer serializer, TimeProvider time, LegacyState? legacy = null) : IGrainStorage
{
    /// <summary>The provider name workflow grains name in their <c>[PersistentState]</c>.</summary>
    public const string ProviderName = "scheduler-workflows";

    /// <summary>The state name workflow grains use; also what they used in the Orleans grain storage before schema version 5.</summary>
    public const string StateName = "workflow";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var id = WorkflowIdOf<T>(grainId);
        var found = await store.ReadWorkflowsAsync([id]).ConfigureAwait(false);
        if (found.TryGetValue(id, out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.Data);
            grainState.ETag = stored.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
            return;
        }
        if (legacy is not null)
            await legacy.ReadWorkflowAsync(grainId, grainState).ConfigureAwait(false);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var id = WorkflowIdOf<T>(grainId);
        if (grainState.State is not WorkflowGrainState state)
            throw new ArgumentException($"workflow grain state expected, not {typeof(T)}", nameof(grainState));
        var current = grainState.ETag is null ? 0 : int.Parse(grainState.ETag, CultureInfo.InvariantCulture);
        var record = new WorkflowRecord(id, current + 1, state.State, state.Nodes.Exists(n => n.State == WorkflowJobState.Queued),
            time.GetUtcNow(), serializer.SerializeToArray(state));
        var conflicts = await store.SaveWorkflowsAsync([record]).ConfigureAwait(false);
        if (conflicts.Count > 0)
            throw new InconsistentStateException($"workflow {id}: its stored state is no longer at version {current}: another writer changed it", grainState.ETag, (string?)null);
        grainState.ETag = record.Version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        throw new NotSupportedException("Workflow rows are not deleted through grain storage.");

    private static WorkflowId WorkflowIdOf<T>(GrainId grainId)
    {
        if (typeof(T) != typeof(WorkflowGrainState))
            throw new NotSupportedException($"{nameof(WorkflowGrainStorage)} stores workflow grain state only, not {typeof(T)}.");
        return new WorkflowId(grainId.GetGuidKey());
    }
}
