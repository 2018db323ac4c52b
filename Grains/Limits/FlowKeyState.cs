namespace Scheduler.Limits;

/// <summary>The durable state of one concurrency key (grain storage state name "flowkey"). Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.FlowKeyState")]
public sealed class FlowKeyState
{
    /// <summary>Settings set at runtime; they win over configuration.</summary>
    [Id(0)] public KeySettings? Runtime { get; set; }
    /// <summary>The attempts holding a slot, by job.</summary>
    [Id(1)] public Dictionary<JobId, HeldSlot> Holders { get; set; } = [];
    /// <summary>The jobs waiting, best first (priority, then oldest).</summary>
    [Id(2)] public List<WaitingJob> Waiters { get; set; } = [];
    /// <summary>Starts within the current rate window, and those whose handler has not reported beginning (only with a rate limit).</summary>
    [Id(3)] public List<RateEntry> RateLog { get; set; } = [];
    /// <summary>The limit the last claiming job asked for: the limit of a key without configured settings.</summary>
    [Id(4)] public int? JobLimit { get; set; }
}

/// <summary>
/// One attempt's slot. <see cref="Pending"/>: handed to the job by a rate-limited key and not claimed yet; its start
/// is counted (and <see cref="Since"/> set) when the job claims it, and until then it keeps a place in the rate window.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.HeldSlot")]
public sealed record HeldSlot([property: Id(0)] int Attempt, [property: Id(1)] DateTimeOffset Since, [property: Id(2)] bool Pending = false);

/// <summary>
/// One waiting job and its place; <see cref="Attempt"/> is the attempt it claimed for (the one a slot handed to it
/// belongs to), <see cref="Shard"/> and <see cref="SizeHint"/> where to put it back in its queue (null shard: by waking it).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.WaitingJob")]
public sealed record WaitingJob(
    [property: Id(0)] JobId Job,
    [property: Id(1)] int Priority,
    [property: Id(2)] long QueuedAt,
    [property: Id(3)] DateTimeOffset Since,
    [property: Id(4)] int Attempt = 0,
    [property: Id(5)] string? Shard = null,
    [property: Id(6)] long SizeHint = 0)
{
    /// <summary>Higher priority first, then the older, then by id (so the order is total).</summary>
    public static int Compare(WaitingJob a, WaitingJob b)
    {
        var c = b.Priority.CompareTo(a.Priority);
        if (c == 0)
            c = a.QueuedAt.CompareTo(b.QueuedAt);
        return c != 0 ? c : a.Job.Value.CompareTo(b.Job.Value);
    }
}

/// <summary>
/// One start counted by a rate limit. <see cref="Unreported"/>: granted at <see cref="At"/>, and its handler has not
/// reported beginning yet, so it counts in every window until it does (then <see cref="At"/> is when it reported).
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.RateEntry")]
public sealed record RateEntry(
    [property: Id(0)] JobId Job,
    [property: Id(1)] int Attempt,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] bool Unreported = false);
