using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Scheduler.Storage;

namespace Scheduler.Protection;

/// <summary>The durable state of the hold directory (grain storage state name "holds"). Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.HoldDirectoryState")]
public sealed class HoldDirectoryState
{
    /// <summary>Grows with every change.</summary>
    [Id(0)] public long Version { get; set; }
    /// <summary>Targets of paused gates.</summary>
    [Id(1)] public SortedSet<string> Gates { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Targets of open or half-open breakers.</summary>
    [Id(2)] public SortedSet<string> Breakers { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// See <see cref="IHoldDirectoryGrain"/>. A change is stored, then every silo's watch is answered; the change's call
/// returns once each active silo has watched again with the new version (it has applied it), so a job offered after a
/// pause returns is held on every silo. A silo that does not come back within <see cref="AckWait"/> is not waited for.
/// </summary>
public sealed class HoldDirectoryGrain(
    [PersistentState(HoldDirectoryGrain.StateName, SchedulerStorage.ProviderName)] IPersistentState<HoldDirectoryState> state,
    IClusterMembershipService membership,
    IHostApplicationLifetime lifetime,
    Microsoft.Extensions.Options.IOptions<SchedulerOptions> options,
    TimeProvider time) : Grain, IHoldDirectoryGrain
{
    /// <summary>The grain storage state name (unique, so no other grain type shares its rows).</summary>
    public const string StateName = "holds";

    /// <summary>Longest a change waits for the silos to see it.</summary>
    public static readonly TimeSpan AckWait = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StoppingWait = TimeSpan.FromSeconds(1);

    private readonly Dictionary<SiloAddress, long> _seen = [];
    private TaskCompletionSource? _changed;
    private TaskCompletionSource? _acked;

    private HoldSet Current => new(state.State.Version, [.. state.State.Gates], [.. state.State.Breakers]);

    public Task SetGate(string target, bool paused) => SetAsync(state.State.Gates, target, paused);

    public Task SetBreaker(string target, bool open) => SetAsync(state.State.Breakers, target, open);

    private async Task SetAsync(SortedSet<string> set, string target, bool on)
    {
        if (on ? !set.Add(target) : !set.Remove(target))
            return;
        state.State.Version++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
        var version = state.State.Version;
        if (_changed is { } waiters)
        {
            _changed = null;
            waiters.TrySetResult();
        }
        var deadline = time.GetUtcNow() + AckWait;
        while (!AllSeen(version) && time.GetUtcNow() < deadline)
        {
            _acked ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                await _acked.Task.WaitAsync(TimeSpan.FromMilliseconds(200), time);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    private bool AllSeen(long version)
    {
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && _seen.GetValueOrDefault(member.SiloAddress, -1) < version)
                return false;
        }
        return true;
    }

    public Task<HoldListing> List() => Task.FromResult(new HoldListing(Current, [.. options.Value.Breakers.Targets()]));

    public async Task<HoldSet> Watch(SiloAddress silo, long known, TimeSpan maxWait)
    {
        _seen[silo] = known;
        if (_acked is { } acked)
        {
            _acked = null;
            acked.TrySetResult();
        }
        if (known != state.State.Version || maxWait <= TimeSpan.Zero)
            return Current;
        _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // As a queue shard's watch: once the silo is stopping, answer soon, so the grain can move.
        var stopping = lifetime.ApplicationStopping;
        try
        {
            if (stopping.IsCancellationRequested)
                await _changed.Task.WaitAsync(maxWait < StoppingWait ? maxWait : StoppingWait);
            else
                await _changed.Task.WaitAsync(maxWait, stopping);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }
        return Current;
    }
}
