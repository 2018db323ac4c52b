using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// Grain storage for workflow grains (provider <see cref="ProviderName"/>): the state, serialized with the Orleans
/// binary serializer, in the workflow's own row of <see cref="IJobStore"/> (<c>scheduler_workflows</c>), so that
/// behind a <see cref="GroupCommitJobStore"/> the writes of many workflows share one transaction, as job writes do.
/// Each write also records whether the workflow has released jobs it has not heard the end of (what the
/// <see cref="WorkflowWatchdogGrain"/> looks for). The ETag is the row's version; a write over another version fails
/// with <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class WorkflowGrainStorage(IJobStore store, Serializer serializer, TimeProvider time, IServiceProvider services) : IGrainStorage
{
    /// <summary>The provider name workflow grains name in their <c>[PersistentState]</c>.</summary>
    public const string ProviderName = "scheduler-workflows";

    /// <summary>The state name workflow grains use; also what they used in the Orleans grain storage before schema version 5.</summary>
    public const string StateName = "workflow";

    // Asked once (again only after a failure): does the Orleans grain storage hold workflows from before version 5?
    private Task<bool>? _hasLegacyState;

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
        // A workflow stored before schema version 5 is still in the Orleans grain storage under the same state name.
        // Read it from there (as version 0): its next write creates its row, which every later read finds first.
        // Whether there is any such state at all is asked once per silo, so that a new workflow costs no second read.
        if (await HasLegacyStateAsync().ConfigureAwait(false))
            await SchedulerStorage.ReadLegacyStateAsync(services, StateName, grainId, grainState, "0").ConfigureAwait(false);
    }

    private Task<bool> HasLegacyStateAsync()
    {
        var probe = _hasLegacyState;
        if (probe is null || probe.IsFaulted || probe.IsCanceled)
            _hasLegacyState = probe = store.HasOrleansStateAsync(StateName);
        return probe;
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
