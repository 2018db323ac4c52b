namespace Scheduler;

/// <summary>A job as a client sees it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobStatus")]
public sealed record JobStatus
{
    /// <summary>The job's id.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Its state.</summary>
    [Id(1)] public required JobState State { get; init; }
    /// <summary>The handler it runs.</summary>
    [Id(2)] public required string Handler { get; init; }
    /// <summary>The queue it runs in.</summary>
    [Id(3)] public required string Queue { get; init; }
    /// <summary>Its priority, 0 to 100.</summary>
    [Id(4)] public required int Priority { get; init; }
    /// <summary>Who submitted it.</summary>
    [Id(5)] public required string Tenant { get; init; }
    /// <summary>Attempts started so far.</summary>
    [Id(6)] public int Attempt { get; init; }
    /// <summary>Attempts it gets in all.</summary>
    [Id(7)] public int MaxAttempts { get; init; }
    /// <summary>When it was submitted.</summary>
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When its latest attempt started; null before the first.</summary>
    [Id(9)] public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When it reached its final state; null until then.</summary>
    [Id(10)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>Why the last attempt did not succeed, or why the job was cancelled.</summary>
    [Id(11)] public string? LastError { get; init; }
    /// <summary>The silo that ran (or runs) the latest attempt.</summary>
    [Id(12)] public string? Silo { get; init; }
    /// <summary>The idempotency key it was submitted with, if any.</summary>
    [Id(13)] public string? IdempotencyKey { get; init; }
    /// <summary>Set when the job is Failed (dead-lettered): why.</summary>
    [Id(14)] public DeadLetterReason? DeadLetterReason { get; init; }
    /// <summary>
    /// While Queued with a due time: the next attempt starts no earlier than this. Set for a delayed job
    /// (<see cref="JobRequest.NotBefore"/>) until its first attempt, and after a retriable failure until the retry.
    /// </summary>
    [Id(15)] public DateTimeOffset? NextAttemptAt { get; init; }
    /// <summary>The backoff the job retries with (its own settings over its handler's and the defaults).</summary>
    [Id(16)] public RetryPolicy? Retry { get; init; }
    /// <summary>
    /// While Queued and held back by a concurrency key or rate limit: what it waits for, e.g.
    /// "waiting for upload:4711: 1 of 1 held by &lt;job id&gt;". Null otherwise.
    /// </summary>
    [Id(30)] public string? WaitingFor { get; init; }
}

/// <summary>One row of a job listing.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobSummary")]
public sealed record JobSummary
{
    /// <summary>The job's id.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Its state.</summary>
    [Id(1)] public required JobState State { get; init; }
    /// <summary>The handler it runs.</summary>
    [Id(2)] public required string Handler { get; init; }
    /// <summary>The queue it runs in.</summary>
    [Id(3)] public required string Queue { get; init; }
    /// <summary>Its priority.</summary>
    [Id(4)] public required int Priority { get; init; }
    /// <summary>Who submitted it.</summary>
    [Id(5)] public required string Tenant { get; init; }
    /// <summary>Attempts started so far.</summary>
    [Id(6)] public int Attempt { get; init; }
    /// <summary>When it was submitted.</summary>
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When its state last changed.</summary>
    [Id(8)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>While Queued with a due time (delayed, or waiting to retry): starts no earlier than this. See <see cref="JobStatus.NextAttemptAt"/>.</summary>
    [Id(9)] public DateTimeOffset? NextAttemptAt { get; init; }
}

/// <summary>Filters for listing jobs; null means "any".</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobFilter")]
public sealed record JobFilter
{
    /// <summary>Most rows one listing returns.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>Only jobs in this state.</summary>
    [Id(0)] public JobState? State { get; init; }
    /// <summary>Only jobs of this queue.</summary>
    [Id(1)] public string? Queue { get; init; }
    /// <summary>Only jobs of this tenant.</summary>
    [Id(2)] public string? Tenant { get; init; }
    /// <summary>Only jobs for this handler.</summary>
    [Id(3)] public string? Handler { get; init; }
    /// <summary>Most rows returned, newest first. Default 100, at most <see cref="MaxLimit"/>.</summary>
    [Id(4)] public int Limit { get; init; } = 100;
    /// <summary>
    /// Only jobs listed after this one (a page's last row): created earlier, or at the same time with a smaller id.
    /// Null: from the newest.
    /// </summary>
    [Id(5)] public JobListPosition? After { get; init; }
    /// <summary>Only jobs submitted at or after this time.</summary>
    [Id(6)] public DateTimeOffset? CreatedAfter { get; init; }
    /// <summary>Only jobs submitted before this time.</summary>
    [Id(7)] public DateTimeOffset? CreatedBefore { get; init; }
    /// <summary>
    /// Only jobs whose id starts with this text: a whole id, or its first <see cref="MinIdPrefix"/> characters or more
    /// (ids are time-ordered, so a prefix names the jobs of a stretch of time), any case. Served by the primary key.
    /// </summary>
    [Id(8)] public string? IdPrefix { get; init; }
    /// <summary>
    /// Free text: only jobs whose id, handler or tenant starts with it, ignoring case. Unlike the other filters no index
    /// serves it, so it filters the rows in listing order: bound it with a time range when matches are rare.
    /// </summary>
    [Id(9)] public string? Text { get; init; }

    /// <summary>Longest <see cref="Text"/>.</summary>
    public const int MaxText = 200;

    /// <summary>Shortest <see cref="IdPrefix"/>: 8 characters name a window of about a minute of a time-ordered id.</summary>
    public const int MinIdPrefix = 8;

    /// <summary>What is wrong with the filter, or null when it can be used.</summary>
    public string? Problem()
    {
        if (Limit is < 1 or > MaxLimit)
            return $"limit {Limit} is out of range: use 1 to {MaxLimit}";
        if (CreatedAfter is { } from && CreatedBefore is { } to && from >= to)
            return $"createdAfter {from:O} is not before createdBefore {to:O}";
        if (IdPrefix is not null && (IdPrefix.Length is < MinIdPrefix or > 36 || !IsIdStart(IdPrefix)))
            return $"id '{IdPrefix}' is not the start of a job id (its first {MinIdPrefix} to 36 characters, as in 0199a0b1-c2d3-...)";
        if (Text is not null && (Text.Length is 0 or > MaxText || Text.Any(char.IsControl)))
            return $"text must be 1 to {MaxText} characters without control characters";
        return null;
    }

    /// <summary>
    /// The lowest and highest ids starting with <see cref="IdPrefix"/> (lower case, canonical form), so a store
    /// finds them with a range of its primary key in any collation.
    /// </summary>
    public (string Low, string High)? IdRange() => IdPrefix is null ? null : RangeOf(IdPrefix);

    /// <summary>The range of ids starting with <see cref="Text"/>, or null when the text cannot start an id.</summary>
    public (string Low, string High)? TextIdRange() => Text is { Length: <= 36 } text && IsIdStart(text) ? RangeOf(text) : null;

    private static bool IsIdStart(string text) =>
        text.Select((c, i) => i is 8 or 13 or 18 or 23 ? c == '-' : char.IsAsciiHexDigit(c)).All(ok => ok);

    private static (string Low, string High) RangeOf(string prefix)
    {
        prefix = prefix.ToLowerInvariant();
        return (prefix + "00000000-0000-0000-0000-000000000000"[prefix.Length..], prefix + "ffffffff-ffff-ffff-ffff-ffffffffffff"[prefix.Length..]);
    }
}

/// <summary>Where a listing stopped: the last row's creation time and id (see <see cref="JobFilter.After"/>).</summary>
/// <param name="CreatedAt">The row's <see cref="JobSummary.CreatedAt"/>.</param>
/// <param name="Id">The row's <see cref="JobSummary.Id"/>.</param>
[GenerateSerializer, Immutable, Alias("scheduler.JobListPosition")]
public sealed record JobListPosition(
    [property: Id(0)] DateTimeOffset CreatedAt,
    [property: Id(1)] JobId Id);

/// <summary>One transition of a job: when it happened, into which state, in which attempt, where and why.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobTransition")]
public sealed record JobTransition
{
    /// <summary>When it happened.</summary>
    [Id(0)] public required DateTimeOffset Timestamp { get; init; }
    /// <summary>The state the job moved into.</summary>
    [Id(1)] public required JobState State { get; init; }
    /// <summary>The attempt it happened in (0 before the first start).</summary>
    [Id(2)] public required int Attempt { get; init; }
    /// <summary>The silo of the attempt, for Running and the states after it.</summary>
    [Id(3)] public string? Silo { get; init; }
    /// <summary>Why, when there is a reason: the error of a failed attempt, a cancellation, a lost lease.</summary>
    [Id(4)] public string? Reason { get; init; }
}

/// <summary>A line a job wrote to its log (a command's stdout/stderr, or a handler's own messages).</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobLogLine")]
public sealed record JobLogLine
{
    /// <summary>
    /// Increasing number of the line within the job's log; pass the last one seen to read on from there.
    /// </summary>
    [Id(0)] public required long Sequence { get; init; }
    /// <summary>When the line was written.</summary>
    [Id(1)] public required DateTimeOffset Timestamp { get; init; }
    /// <summary>The attempt that wrote it.</summary>
    [Id(2)] public required int Attempt { get; init; }
    /// <summary>Where it came from.</summary>
    [Id(3)] public required LogStream Stream { get; init; }
    /// <summary>The text, without its line break.</summary>
    [Id(4)] public required string Text { get; init; }
}

/// <summary>Where a log line came from.</summary>
[GenerateSerializer, Alias("scheduler.LogStream")]
public enum LogStream
{
    /// <summary>The scheduler or the handler itself (e.g. "started process N").</summary>
    System = 0,
    /// <summary>A command's standard output.</summary>
    StdOut = 1,
    /// <summary>A command's standard error.</summary>
    StdErr = 2,
}
