using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace Scheduler.Storage;

/// <summary>
/// Grain storage for job grains (provider <see cref="ProviderName"/>): the state, serialized with the Orleans binary
/// serializer, lives in the job's own row of <see cref="IJobStore"/>, written together with the columns that queues
/// and listings read and the history entry of the transition, in one write. Behind a <see cref="GroupCommitJobStore"/>
/// the writes (and reads) of many jobs share one transaction: one commit per job and transition cannot keep up
/// with thousands of jobs a second on a database that syncs every commit.
/// The ETag is the row's version; a write over another version fails with <see cref="InconsistentStateException"/>.
/// A job the <see cref="JobSubmitter"/> is submitting as new is not read at all: it has no row yet. A row without state
/// (written before schema version 4) is completed from the <see cref="LegacyState"/>, where the profile has one.
/// </summary>
public sealed class JobGrainStorage(IJobStore store, Serializer serializer, LegacyState? legacy = null, JobSubmitter? submitter = null) : IGrainStorage
{
    /// <summary>The provider name job grains name in their <c>[PersistentState]</c>.</summary>
    public const string ProviderName = "scheduler-jobs";

    /// <summary>The state name job grains use; also what they used in the Orleans grain storage before schema version 4.</summary>
    public const string StateName = "job";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var id = JobIdOf<T>(grainId);
        if (submitter?.TryTakeNewJob(id) == true)
            return;
        var found = await store.ReadStatesAsync([id]).ConfigureAwait(false);
        if (!found.TryGetValue(id, out var stored))
            return;
        if (stored.Data is null)
        {
            if (legacy is not null)
                await legacy.ReadJobAsync(grainId, grainState, stored.Version).ConfigureAwait(false);
            return;
        }
        grainState.State = serializer.Deserialize<T>(stored.Data);
        grainState.ETag = VersionText(stored.Version);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var id = JobIdOf<T>(grainId);
        if (grainState.State is not JobGrainState state)
            throw new ArgumentException($"job grain state expected, not {typeof(T)}", nameof(grainState));
        var current = grainState.ETag is null ? 0 : int.Parse(grainState.ETag, CultureInfo.InvariantCulture);
        var place = state.EntryOf(id);
        var record = new JobRecord(id, state.Queue, state.Shard, state.Priority, state.Tenant, state.Handler, state.State,
            state.Attempt, state.CreatedAt, state.UpdatedAt,
            state.State == JobState.Running || state.State.IsFinal() ? state.Silo : null,
            state.State is JobState.Running or JobState.Succeeded ? null : state.LastError)
        {
            Version = current + 1,
            Data = serializer.SerializeToArray(state),
            QueuedAt = !grainState.RecordExists && state.State != JobState.Queued ? state.CreatedAt : null,
            QueuedAsOf = new DateTimeOffset(place.EnqueuedAtTicks, TimeSpan.Zero),
            SizeHint = place.SizeHint,
            NotBefore = state.State == JobState.Queued ? state.NotBefore : null,
            Workflow = state.Workflow,
        };
        var conflicts = await store.SaveAsync([record]).ConfigureAwait(false);
        if (conflicts.Count > 0)
            throw new InconsistentStateException($"job {id}: its stored state is no longer at version {current}: another writer changed it", grainState.ETag, (string?)null);
        grainState.ETag = VersionText(record.Version);
        grainState.RecordExists = true;
    }

    // A job's row is written a few times (submit, start, end): its first versions' texts are made once.
    private static readonly string[] Versions = [.. Enumerable.Range(0, 16).Select(v => v.ToString(CultureInfo.InvariantCulture))];

    private static string VersionText(int version) =>
        (uint)version < (uint)Versions.Length ? Versions[version] : version.ToString(CultureInfo.InvariantCulture);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        throw new NotSupportedException("Job rows are not deleted through grain storage.");

    private static JobId JobIdOf<T>(GrainId grainId)
    {
        if (typeof(T) != typeof(JobGrainState))
            throw new NotSupportedException($"{nameof(JobGrainStorage)} stores job grain state only, not {typeof(T)}.");
        return new JobId(grainId.GetGuidKey());
    }
}
