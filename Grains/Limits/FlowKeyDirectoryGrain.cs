using Scheduler.Storage;

namespace Scheduler.Limits;

/// <summary>The durable list of keys set at runtime (grain storage state name "flowkeys").</summary>
[GenerateSerializer, Alias("scheduler.FlowKeyDirectoryState")]
public sealed class FlowKeyDirectoryState
{
    [Id(0)] public SortedSet<string> Keys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Keys set at runtime, for <c>scheduler limits list</c>; called only when a key is set or listed.</summary>
public sealed class FlowKeyDirectoryGrain(
    [PersistentState("flowkeys", SchedulerStorage.ProviderName)] IPersistentState<FlowKeyDirectoryState> state,
    Microsoft.Extensions.Options.IOptions<SchedulerOptions> options) : Grain, IFlowKeyDirectoryGrain
{
    public async Task Add(string key)
    {
        if (state.State.Keys.Add(key))
            await state.WriteStateAsync();
    }

    /// <summary>Keys set at runtime and keys in this silo's configuration (the same on every silo).</summary>
    public Task<System.Collections.Immutable.ImmutableArray<string>> List() =>
        Task.FromResult<System.Collections.Immutable.ImmutableArray<string>>([.. state.State.Keys.Union(options.Value.FlowControl.Keys.Select(k => k.Key)).Order(StringComparer.Ordinal)]);
}
