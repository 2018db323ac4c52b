using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One concurrency key, keyed by the key itself: its limit, the jobs holding it (each with its attempt number), the
/// jobs waiting for it in priority order and its rate log. Job grains take and give back its slots; when a slot frees it
/// hands it to its best waiter and puts that job back in its queue. Only jobs that name the key ever call it. Claims
/// and releases interleave, so that the changes of many share one stored write.
/// </summary>
[Alias("scheduler.IFlowKeyGrain")]
public interface IFlowKeyGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes a slot for one attempt of a job, or, when the key is full or over its rate, records the job as a waiter
    /// (woken through <see cref="IJobGrain.Wake"/> when its turn comes) and says why it waits.
    /// </summary>
    [Alias("TryAcquire"), AlwaysInterleave]
    Task<KeyAnswer> TryAcquire(KeyClaim claim);

    /// <summary>
    /// Gives back the slot of attempt <paramref name="attempt"/>; a release for any other attempt is ignored (fenced).
    /// <paramref name="started"/> false: the attempt never started (another key was full, or the job was cancelled
    /// while it waited), so its start is not counted against the rate limit, and the job no longer waits for the key.
    /// </summary>
    [Alias("Release"), AlwaysInterleave]
    Task Release(JobId job, int attempt, bool started);

    /// <summary>
    /// The job ended while it waited (cancelled): it leaves the line, and gives back the slot handed to attempt
    /// <paramref name="attempt"/> if it had one.
    /// </summary>
    [Alias("Withdraw"), AlwaysInterleave]
    Task Withdraw(JobId job, int attempt);

    /// <summary>
    /// The handler of attempt <paramref name="attempt"/> has begun (sent by its worker once the handler was called,
    /// when the key's grant counted a start; see <see cref="KeyAnswer.RateCounted"/>). The key stamps the start with
    /// its own clock as the message arrives, so the stamp is never earlier than the handler's start; until then the
    /// start counts in every window. A report that never comes is stamped when the attempt releases the key.
    /// </summary>
    [Alias("Started"), AlwaysInterleave, OneWay]
    Task Started(JobId job, int attempt);

    /// <summary>Changes the key's settings at runtime; they win over configuration and jobs' own limits.</summary>
    [Alias("Set")]
    Task<KeyStatus> Set(KeySettings settings);

    /// <summary>The key's limit, holders, waiters and current rate window.</summary>
    [Alias("GetStatus"), ReadOnly, AlwaysInterleave]
    Task<KeyStatus> GetStatus();
}

/// <summary>One attempt of a job asking for a key's slot.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyClaim")]
public sealed record KeyClaim
{
    /// <summary>The job.</summary>
    [Id(0)] public required JobId Job { get; init; }
    /// <summary>The attempt that would start: the fencing token of the slot.</summary>
    [Id(1)] public required int Attempt { get; init; }
    /// <summary>The job's priority: waiters are served highest first.</summary>
    [Id(2)] public required int Priority { get; init; }
    /// <summary>The job's place among equal priorities (its queue order, UTC ticks): oldest first.</summary>
    [Id(3)] public required long QueuedAt { get; init; }
    /// <summary>The limit the job asks for (null: 1), used when the key has no configured limit.</summary>
    [Id(4)] public int? Limit { get; init; }
    /// <summary>The job's queue shard ("queue/index"): where the key puts the job back when its turn comes (null: the job does it when woken).</summary>
    [Id(5)] public string? Shard { get; init; }
    /// <summary>The job's size hint in its shard (see <see cref="QueueEntry.SizeHint"/>).</summary>
    [Id(6)] public long SizeHint { get; init; }
    /// <summary>
    /// The attempt on the claimant's silo whose handler has just returned and whose slot this job takes: if it still
    /// holds the key, its slot is given back first, in the same stored write as this claim's answer (a start for a
    /// rate limit counts as begun). Null: an ordinary claim.
    /// </summary>
    [Id(7)] public KeyPredecessor? After { get; init; }
}

/// <summary>One attempt of a job whose handler has returned, handing its key slots on to the next job on its silo.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyPredecessor")]
public sealed record KeyPredecessor(
    [property: Id(0)] JobId Job,
    [property: Id(1)] int Attempt);

/// <summary>What a key answers a claim.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyAnswer")]
public sealed record KeyAnswer
{
    /// <summary>True: the slot is the attempt's until it is released.</summary>
    [Id(0)] public required bool Granted { get; init; }
    /// <summary>When granted: the time the start counts from in the key's rate log.</summary>
    [Id(1)] public DateTimeOffset GrantedAt { get; init; }
    /// <summary>When refused: why the job waits, e.g. "waiting for upload:4711: 1 of 1 held by …".</summary>
    [Id(2)] public string? Reason { get; init; }
    /// <summary>When refused by the rate limit: the earliest time a start may be allowed again.</summary>
    [Id(3)] public DateTimeOffset? EligibleAt { get; init; }
    /// <summary>When granted: the key counted a start against its rate limit and wants to hear when the handler began (<see cref="IFlowKeyGrain.Started"/>).</summary>
    [Id(4)] public bool RateCounted { get; init; }
    /// <summary>When granted: the key's concurrency limit in force (null: none), which a silo uses to set aside jobs it knows would be refused.</summary>
    [Id(5)] public int? Limit { get; init; }
    /// <summary>
    /// Whether the key holds no slot of the claim's <see cref="KeyClaim.After"/> any more (this claim gave it back, or it
    /// was already given back): its job need not give it back again.
    /// </summary>
    [Id(6)] public bool AfterReleased { get; init; }
}

/// <summary>A key as <c>scheduler limits show</c> prints it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyStatus")]
public sealed record KeyStatus
{
    /// <summary>The key.</summary>
    [Id(0)] public required string Key { get; init; }
    /// <summary>The settings in force: set at runtime, else from configuration; null: none (jobs' own limits apply).</summary>
    [Id(1)] public KeySettings? Settings { get; init; }
    /// <summary>Where the settings come from: "runtime", "configuration" or "jobs".</summary>
    [Id(2)] public required string Source { get; init; }
    /// <summary>The concurrency limit in force; null: none (a rate-only key).</summary>
    [Id(3)] public int? Limit { get; init; }
    /// <summary>The attempts holding a slot.</summary>
    [Id(4)] public ImmutableArray<KeyHolder> Holders { get; init; } = [];
    /// <summary>The jobs waiting, in the order they will be served.</summary>
    [Id(5)] public ImmutableArray<KeyWaiter> Waiters { get; init; } = [];
    /// <summary>Starts counted in the current rate window, oldest first (empty without a rate limit).</summary>
    [Id(6)] public ImmutableArray<DateTimeOffset> RateWindowStarts { get; init; } = [];
    /// <summary>When the rate window is full: the earliest time a start may be allowed again.</summary>
    [Id(7)] public DateTimeOffset? NextRateSlotAt { get; init; }
}

/// <summary>One attempt holding a key's slot.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyHolder")]
public sealed record KeyHolder(
    [property: Id(0)] JobId Job,
    [property: Id(1)] int Attempt,
    [property: Id(2)] DateTimeOffset Since);

/// <summary>One job waiting for a key; <see cref="Woken"/>: told its turn has come, on its way back to start.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeyWaiter")]
public sealed record KeyWaiter(
    [property: Id(0)] JobId Job,
    [property: Id(1)] int Priority,
    [property: Id(2)] DateTimeOffset Since,
    [property: Id(3)] bool Woken);

/// <summary>The keys set at runtime (one grain, key 0; used only when a key is set or listed, never by jobs).</summary>
[Alias("scheduler.IFlowKeyDirectoryGrain")]
public interface IFlowKeyDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records that <paramref name="key"/> has runtime settings.</summary>
    [Alias("Add")]
    Task Add(string key);

    /// <summary>The keys with settings (set at runtime or configured), in order.</summary>
    [Alias("List"), ReadOnly]
    Task<ImmutableArray<string>> List();
}
