using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>What a job needs to itself while it runs (see docs/flow-control.md).</summary>
[GenerateSerializer, Alias("scheduler.ExclusiveScope")]
public enum ExclusiveScope
{
    /// <summary>Nothing: the job runs beside others (the default).</summary>
    None = 0,

    /// <summary>Its queue: no other job of the queue runs while it does.</summary>
    Queue = 1,

    /// <summary>The whole cluster: no other job runs while it does.</summary>
    Cluster = 2,
}

/// <summary>
/// One exclusive scope, keyed "cluster" or "queue:NAME": its queue of exclusive jobs, and the barrier of the first.
/// While a barrier is up, the silos start no other job in the scope; once every live silo has reported none running,
/// the exclusive job is woken and may start. Called by silos' watches (a few calls per silo and watch period) and by
/// exclusive jobs; never by ordinary jobs while no barrier is up.
/// </summary>
[Alias("scheduler.IExclusiveScopeGrain")]
public interface IExclusiveScopeGrain : IGrainWithStringKey
{
    /// <summary>
    /// An exclusive job's attempt asks for the scope: granted once the scope has drained for it; otherwise the job
    /// waits (its barrier goes up if it is first) and is woken through <see cref="IJobGrain.EnsureQueued"/>.
    /// </summary>
    [Alias("Claim")]
    Task<KeyAnswer> Claim(KeyClaim claim);

    /// <summary>The exclusive attempt ended: its barrier drops (the next exclusive job's goes up) and held-back jobs are queued again.</summary>
    [Alias("Release")]
    Task Release(JobId job, int attempt);

    /// <summary>
    /// Long poll of one silo: reports which barrier it knows and how many jobs of the scope it runs, and answers
    /// when the barrier changes or after <paramref name="maxWait"/>.
    /// </summary>
    [Alias("Watch"), AlwaysInterleave]
    Task<ScopeBarrier> Watch(SiloAddress silo, ScopeBarrier known, int running, TimeSpan maxWait);

    /// <summary>A silo's count of running jobs in the scope changed while a barrier is up.</summary>
    [Alias("Report"), OneWay]
    Task Report(SiloAddress silo, long barrier, int running);

    /// <summary>Jobs a silo did not start because the barrier is up: queued again when it drops.</summary>
    [Alias("Park")]
    Task Park(ImmutableArray<JobId> jobs);

    /// <summary>The barrier, the exclusive jobs waiting and the silos' reports.</summary>
    [Alias("GetStatus"), ReadOnly, AlwaysInterleave]
    Task<ScopeStatus> GetStatus();
}

/// <summary>A scope's barrier as silos see it.</summary>
/// <param name="Id">Numbers barriers; 0: none was ever raised.</param>
/// <param name="Holder">The exclusive job the barrier is up for; null: the scope is open.</param>
/// <param name="Ready">The scope has drained: the holder may be pulled and started.</param>
[GenerateSerializer, Immutable, Alias("scheduler.ScopeBarrier")]
public readonly record struct ScopeBarrier(
    [property: Id(0)] long Id,
    [property: Id(1)] JobId? Holder,
    [property: Id(2)] bool Ready);

/// <summary>A scope as <c>scheduler limits show</c> prints it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScopeStatus")]
public sealed record ScopeStatus
{
    /// <summary>The scope, "cluster" or "queue:NAME".</summary>
    [Id(0)] public required string Scope { get; init; }
    /// <summary>The current barrier.</summary>
    [Id(1)] public required ScopeBarrier Barrier { get; init; }
    /// <summary>Whether the holder has started.</summary>
    [Id(2)] public bool HolderRunning { get; init; }
    /// <summary>Exclusive jobs waiting behind the holder, in order.</summary>
    [Id(3)] public ImmutableArray<KeyWaiter> Waiting { get; init; } = [];
    /// <summary>Jobs held back by the barrier, queued again when it drops.</summary>
    [Id(4)] public int Parked { get; init; }
    /// <summary>Jobs of the scope each silo reported running, under the barrier it knew.</summary>
    [Id(5)] public ImmutableArray<string> Silos { get; init; } = [];
}

/// <summary>Names of exclusive scopes.</summary>
public static class ExclusiveScopes
{
    /// <summary>The scope of the whole cluster.</summary>
    public const string Cluster = "cluster";

    /// <summary>The scope of one queue.</summary>
    public static string OfQueue(string queue) => $"queue:{queue}";

    /// <summary>The rule for scope names, as error messages state it.</summary>
    public const string ScopeRule = "'cluster' or 'queue:NAME' with the name of a queue";

    /// <summary>True when <paramref name="scope"/> names a scope: "cluster", or "queue:" and a valid queue name.</summary>
    public static bool IsScope(string? scope) =>
        scope == Cluster || (scope is not null && scope.StartsWith("queue:", StringComparison.Ordinal) && RequestValidation.IsName(scope["queue:".Length..]));

    /// <summary>The scope a job with <paramref name="scope"/> in <paramref name="queue"/> needs; null for none.</summary>
    public static string? Of(ExclusiveScope scope, string queue) => scope switch
    {
        ExclusiveScope.Queue => OfQueue(queue),
        ExclusiveScope.Cluster => Cluster,
        _ => null,
    };
}
