using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One shard of one queue, keyed "queue/index". Holds the queued jobs of its shard in priority order
/// (higher first, FIFO within a priority). Silos pull from it as they have capacity.
/// </summary>
[Alias("scheduler.IQueueShardGrain")]
public interface IQueueShardGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds jobs; a job already waiting in the shard is not added twice. Returns about where the last of them starts
    /// among the waiting jobs (1: next; by priority and, with fair share, the tenants' turns), counted up to the
    /// deep-backlog threshold: submitters let the grains of jobs that wait behind many others go idle (docs/queues.md, "A large backlog").
    /// </summary>
    [Alias("Enqueue")]
    Task<int> Enqueue(ImmutableArray<QueueEntry> entries);

    /// <summary>
    /// Takes up to <paramref name="max"/> of the most urgent entries whose priority is at least
    /// <paramref name="minPriority"/>, and says what is left. <paramref name="pull"/> numbers the pulls of
    /// <paramref name="silo"/> one by one, for <see cref="RequeueUnheld"/>. With <paramref name="tenant"/> set (a
    /// tenant the head named), that tenant's next job at the head's level goes first, whether or not it was the
    /// shard's turn for it: the puller chooses whose turn it is across shards (docs/queues.md, "Across shards").
    /// </summary>
    [Alias("Pull")]
    Task<PullResult> Pull(int max, int minPriority, SiloAddress silo, long pull, string? tenant);

    /// <summary>
    /// The given jobs, pulled earlier, have ended their run (in any way). Until then the shard remembers which silo
    /// took them, and queues them again if that silo dies or does not hold them (<see cref="RequeueUnheld"/>).
    /// </summary>
    [Alias("Ack")]
    Task Ack(ImmutableArray<JobId> ids);

    /// <summary>The given jobs, pulled earlier, could not be started (e.g. storage was unreachable): queue them again.</summary>
    [Alias("Return")]
    Task Return(ImmutableArray<JobId> ids);

    /// <summary>
    /// <paramref name="silo"/> holds <paramref name="held"/> of this shard's jobs, as of having the answers to its
    /// pulls up to <paramref name="settledPull"/>: every job it was handed in those pulls and does not hold is queued
    /// again (a message was lost; its job grain decides whether it may run). Answers how many, and what waits in the
    /// shard now (for the queue depth metric: the report is sent every few seconds anyway).
    /// </summary>
    [Alias("RequeueUnheld")]
    Task<HeldReportAnswer> RequeueUnheld(SiloAddress silo, long settledPull, ImmutableArray<JobId> held);

    /// <summary>
    /// Adds the shard's Queued jobs from the store that it does not hold or has not handed out: jobs that left the
    /// queue while a gate or breaker held them come back in their order. Returns how many were added.
    /// </summary>
    [Alias("Reload")]
    Task<int> Reload();

    /// <summary>Removes a waiting job (used when it is cancelled). Returns false if it was not waiting here.</summary>
    [Alias("Remove")]
    Task<bool> Remove(JobId id);

    /// <summary>
    /// Moves a waiting job to <paramref name="priority"/> at once, keeping its age and size; false when it does not
    /// wait here (taken already, or not enqueued yet).
    /// </summary>
    [Alias("ChangePriority")]
    Task<bool> ChangePriority(JobId id, int priority);

    /// <summary>
    /// Long poll: answers at once when the shard's head differs from <paramref name="known"/> (another epoch or
    /// version), otherwise when it changes or after <paramref name="maxWait"/>.
    /// </summary>
    [Alias("WatchHead"), AlwaysInterleave]
    Task<ShardHead> WatchHead(ShardHead known, TimeSpan maxWait);

    /// <summary>
    /// What the shard holds now, for the dashboard's queue page (<see cref="ISchedulerGrain.GetQueues"/>): its waiting
    /// jobs and those it handed to silos (starting or running), by priority and tenant.
    /// </summary>
    [Alias("Snapshot"), ReadOnly]
    Task<ShardSnapshot> Snapshot();
}

/// <summary>A shard's contents by priority and tenant (the default tenant by its name).</summary>
/// <param name="Waiting">Jobs waiting in it; at most <see cref="WaitingCount.MaxGroups"/> groups, the rest summed per priority under a null tenant.</param>
/// <param name="Taken">Jobs handed to a silo and not yet ended there, grouped the same way.</param>
/// <param name="Loading">True while it still reads its backlog from the job rows (so fewer are counted than wait).</param>
[GenerateSerializer, Immutable, Alias("scheduler.ShardSnapshot")]
public sealed record ShardSnapshot(
    [property: Id(0)] ImmutableArray<ShardGroup> Waiting,
    [property: Id(1)] ImmutableArray<ShardGroup> Taken,
    [property: Id(2)] bool Loading);

/// <summary>Jobs of one priority and tenant in a shard.</summary>
/// <param name="Priority">Their priority.</param>
/// <param name="Tenant">Their tenant; null: the tenants summed beyond those named one by one.</param>
/// <param name="Count">How many.</param>
/// <param name="OldestTicks">The earliest enqueue time among them (UTC ticks).</param>
[GenerateSerializer, Immutable, Alias("scheduler.ShardGroup")]
public readonly record struct ShardGroup(
    [property: Id(0)] int Priority,
    [property: Id(1)] string? Tenant,
    [property: Id(2)] int Count,
    [property: Id(3)] long OldestTicks);

/// <summary>A shard's answer to a held-jobs report.</summary>
/// <param name="Requeued">How many jobs it queued again.</param>
/// <param name="Waiting">The jobs waiting in it now, by priority and tenant.</param>
[GenerateSerializer, Immutable, Alias("scheduler.HeldReportAnswer")]
public sealed record HeldReportAnswer(
    [property: Id(0)] int Requeued,
    [property: Id(1)] ImmutableArray<WaitingCount> Waiting);

/// <summary>
/// How many jobs of one priority and tenant wait in a shard. A shard names at most
/// <see cref="MaxGroups"/> groups; the rest are summed per priority with a null tenant.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.WaitingCount")]
public readonly record struct WaitingCount(
    [property: Id(0)] int Priority,
    [property: Id(1)] string? Tenant,
    [property: Id(2)] int Count)
{
    /// <summary>Most groups a shard names in one answer.</summary>
    public const int MaxGroups = 256;
}

/// <summary>
/// A queued job as the queue sees it (docs/queues.md): within a priority, tenants take turns (<see cref="Tenant"/>;
/// null is the default tenant), and each tenant's jobs go smaller <see cref="SizeHint"/> first, then by enqueue time.
/// <see cref="Keys"/> are the job's concurrency keys, if any: a silo that pulls it sets it aside while its own jobs
/// fill one of them (the key would refuse it), instead of starting it (docs/flow-control.md).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.QueueEntry")]
public readonly record struct QueueEntry(
    [property: Id(0)] JobId Id,
    [property: Id(1)] int Priority,
    [property: Id(2)] long EnqueuedAtTicks,
    [property: Id(3)] long SizeHint = 0,
    [property: Id(4)] string? Tenant = null,
    [property: Id(5)] ImmutableArray<string> Keys = default);

/// <summary>
/// The most urgent waiting entry of a shard (Count 0 = empty). <see cref="Version"/> grows whenever a pool would now
/// pull where it did not before: the shard turned non-empty or its top priority rose. Within one version the shard
/// can only empty and its top priority only fall, so a later head of the same version is never more urgent.
/// <see cref="Epoch"/> identifies the shard's activation (it grows too), so that (Epoch, Version) orders the
/// versions a shard ever reported. <see cref="TopTenant"/> and <see cref="TopSizeHint"/> are those of the entry the
/// shard hands out next, so that pools choosing between shards at equal priority order them as a shard does;
/// <see cref="Behind"/> names the other tenants waiting at that level, so that a pool sees a tenant's job waiting behind
/// another tenant's head (a new tenant there bumps the version too).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.ShardHead")]
public readonly record struct ShardHead(
    [property: Id(0)] long Version,
    [property: Id(1)] int Count,
    [property: Id(2)] int TopPriority,
    [property: Id(3)] long TopEnqueuedAtTicks,
    [property: Id(4)] long Epoch,
    [property: Id(5)] string? TopTenant = null,
    [property: Id(6)] long TopSizeHint = 0,
    [property: Id(7)] ImmutableArray<TenantHead> Behind = default)
{
    /// <summary>Most tenants a head names in <see cref="Behind"/> (the first in the shard's turn order).</summary>
    public const int MaxBehind = 15;

    /// <summary>True when the shard has no waiting job.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>
    /// True when this head is at least as recent as <paramref name="other"/>, so a pool should believe it: a later
    /// epoch or version, or the same version and no more urgent (within a version the shard only empties or its top
    /// priority falls, so the less urgent of two such heads is the later one).
    /// </summary>
    public bool Supersedes(ShardHead other) =>
        Epoch != other.Epoch ? Epoch > other.Epoch
        : Version != other.Version ? Version > other.Version
        : IsEmpty || (!other.IsEmpty && TopPriority <= other.TopPriority);

    /// <summary>True when both heads come from the same activation and version of the shard.</summary>
    public bool IsSameVersion(ShardHead other) => Epoch == other.Epoch && Version == other.Version;
}

/// <summary>
/// A tenant waiting at the level of a shard's head, and the size and enqueue time of the job of it the shard would hand
/// out next (null tenant: the default one).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.TenantHead")]
public readonly record struct TenantHead(
    [property: Id(0)] string? Tenant,
    [property: Id(1)] long SizeHint,
    [property: Id(2)] long EnqueuedAtTicks);

/// <summary>The answer to a pull: the entries taken, and the shard's head after them.</summary>
/// <param name="Entries">The entries handed to the puller, most urgent first.</param>
/// <param name="Head">The shard's head once they were taken.</param>
[GenerateSerializer, Immutable, Alias("scheduler.PullResult")]
public sealed record PullResult(
    [property: Id(0)] ImmutableArray<QueueEntry> Entries,
    [property: Id(1)] ShardHead Head);
