using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// The queues as their shards hold them now (docs/queues.md): depth by priority, and each tenant's waiting and taken
/// jobs with its weight. Read from every shard at once, so it is a snapshot taken within a moment, not an atomic one.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueueOverview")]
public sealed record QueueOverview
{
    /// <summary>The queues the silos serve, in configured order.</summary>
    [Id(0)] public ImmutableArray<QueueDepth> Queues { get; init; } = [];
    /// <summary>True when tenants take turns by weight within a priority; false: one line per priority.</summary>
    [Id(1)] public bool FairShare { get; init; }
}

/// <summary>One queue: its waiting and taken jobs, by priority and by tenant.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueueDepth")]
public sealed record QueueDepth
{
    /// <summary>The queue's name.</summary>
    [Id(0)] public required string Queue { get; init; }
    /// <summary>Its shards.</summary>
    [Id(1)] public int Shards { get; init; }
    /// <summary>Jobs waiting in its shards to be taken (not those delayed, held by a gate or breaker, or waiting for a key).</summary>
    [Id(2)] public long Waiting { get; init; }
    /// <summary>Jobs its shards handed to silos that have not ended yet: starting or running.</summary>
    [Id(3)] public long Taken { get; init; }
    /// <summary>Waiting and taken jobs per priority, highest first (only priorities with any).</summary>
    [Id(4)] public ImmutableArray<PriorityDepth> ByPriority { get; init; } = [];
    /// <summary>Waiting and taken jobs per tenant with its weight and fair share, in tenant order.</summary>
    [Id(5)] public ImmutableArray<TenantShare> Tenants { get; init; } = [];
    /// <summary>Shards still reading their backlog from the job rows: they count fewer jobs than wait.</summary>
    [Id(6)] public int ShardsLoading { get; init; }
    /// <summary>Shards that did not answer in time: their jobs are missing from the counts.</summary>
    [Id(7)] public int ShardsUnanswered { get; init; }
    /// <summary>When the longest-waiting job still waiting was queued; null when none waits.</summary>
    [Id(8)] public DateTimeOffset? OldestWaitingSince { get; init; }
}

/// <summary>Jobs of one priority in a queue.</summary>
/// <param name="Priority">The priority, 0 to 100.</param>
/// <param name="Waiting">Waiting to be taken.</param>
/// <param name="Taken">Starting or running.</param>
/// <param name="OldestWaitingSince">When the longest-waiting of them was queued; null when none waits.</param>
[GenerateSerializer, Immutable, Alias("scheduler.PriorityDepth")]
public sealed record PriorityDepth(
    [property: Id(0)] int Priority,
    [property: Id(1)] long Waiting,
    [property: Id(2)] long Taken,
    [property: Id(3)] DateTimeOffset? OldestWaitingSince = null);

/// <summary>One tenant's part of a queue.</summary>
/// <param name="Tenant">The tenant; null: tenants beyond those a shard names one by one, summed.</param>
/// <param name="Weight">Its weight (Scheduler:Ordering:TenantWeights, default 1).</param>
/// <param name="Waiting">Its jobs waiting to be taken.</param>
/// <param name="Taken">Its jobs starting or running.</param>
/// <param name="Share">
/// Its share of starts while the tenants waiting now keep waiting at one priority: its weight over the sum of theirs
/// (0 when it has nothing waiting or fair share is off).
/// </param>
/// <param name="OldestWaitingSince">When its longest-waiting job still waiting was queued; null when none waits.</param>
[GenerateSerializer, Immutable, Alias("scheduler.TenantShare")]
public sealed record TenantShare(
    [property: Id(0)] string? Tenant,
    [property: Id(1)] double Weight,
    [property: Id(2)] long Waiting,
    [property: Id(3)] long Taken,
    [property: Id(4)] double Share,
    [property: Id(5)] DateTimeOffset? OldestWaitingSince = null);
