namespace Scheduler.Tests.Storage;

[GenerateSerializer, Alias("scheduler.tests.ProbeState")]
public sealed class ProbeState
{
    [Id(0)] public int Value { get; set; }
    [Id(1)] public string Note { get; set; } = "";
}

[Alias("scheduler.tests.IStorageProbeGrain")]
public interface IStorageProbeGrain : IGrainWithGuidKey
{
    [Alias("Set")] Task Set(int value, string note);
    [Alias("Get")] Task<ProbeState> Get();
    [Alias("GetETag")] Task<string?> GetETag();
    [Alias("Clear")] Task Clear();
}

/// <summary>Grain state in the "scheduler" provider, named explicitly.</summary>
public sealed class StorageProbeGrain([PersistentState("probe", "scheduler")] IPersistentState<ProbeState> state) : Grain, IStorageProbeGrain
{
    public Task Set(int value, string note)
    {
        state.State.Value = value;
        state.State.Note = note;
        return state.WriteStateAsync();
    }

    public Task<ProbeState> Get() => Task.FromResult(new ProbeState { Value = state.State.Value, Note = state.State.Note });

    public Task<string?> GetETag() => Task.FromResult(state.Etag);

    public Task Clear() => state.ClearStateAsync();
}

[Alias("scheduler.tests.IDefaultStorageProbeGrain")]
public interface IDefaultStorageProbeGrain : IGrainWithGuidKey
{
    [Alias("Set")] Task Set(int value);
}

/// <summary>Grain state that names no provider: it must land in the default one, which is ours.</summary>
public sealed class DefaultStorageProbeGrain([PersistentState("default-probe")] IPersistentState<ProbeState> state) : Grain, IDefaultStorageProbeGrain
{
    public Task Set(int value)
    {
        state.State.Value = value;
        return state.WriteStateAsync();
    }
}
