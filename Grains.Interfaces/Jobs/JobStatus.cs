namespace Scheduler;

/// <summary>A job as a client sees it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobStatus")]
public sealed record JobStatus
{
    [Id(0)] public required JobId Id { get; init; }
    [Id(1)] public required JobState State { get; init; }
    [Id(2)] public required string Handler { get; init; }
    [Id(3)] public required string Queue { get; init; }
    [Id(4)] public required int Priority { get; init; }
    [Id(5)] public required string Tenant { get; init; }
    /// <summary>Attempts started so far.</summary>
    [Id(6)] public int Attempt { get; init; }
    [Id(7)] public int MaxAttempts { get; init; }
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }
    [Id(9)] public DateTimeOffset? StartedAt { get; init; }
    [Id(10)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>Why the last attempt did not succeed, or why the job was cancelled.</summary>
    [Id(11)] public string? LastError { get; init; }
    /// <summary>The silo that ran (or runs) the latest attempt.</summary>
    [Id(12)] public string? Silo { get; init; }
    [Id(13)] public string? IdempotencyKey { get; init; }
    /// <summary>Set when the job is Failed (dead-lettered): why.</summary>
    [Id(14)] public DeadLetterReason? DeadLetterReason { get; init; }
    /// <summary>While Queued after a retriable failure: the next attempt starts no earlier than this.</summary>
    [Id(15)] public DateTimeOffset? NextAttemptAt { get; init; }
    /// <summary>The backoff the job retries with (its own settings over its handler's and the defaults).</summary>
    [Id(16)] public RetryPolicy? Retry { get; init; }
}

/// <summary>One row of a job listing.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobSummary")]
public sealed record JobSummary
{
    [Id(0)] public required JobId Id { get; init; }
    [Id(1)] public required JobState State { get; init; }
    [Id(2)] public required string Handler { get; init; }
    [Id(3)] public required string Queue { get; init; }
    [Id(4)] public required int Priority { get; init; }
    [Id(5)] public required string Tenant { get; init; }
    [Id(6)] public int Attempt { get; init; }
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    [Id(8)] public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Filters for listing jobs; null means "any".</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobFilter")]
public sealed record JobFilter
{
    public const int MaxLimit = 10_000;

    [Id(0)] public JobState? State { get; init; }
    [Id(1)] public string? Queue { get; init; }
    [Id(2)] public string? Tenant { get; init; }
    [Id(3)] public string? Handler { get; init; }
    /// <summary>Most rows returned, newest first. Default 100, at most <see cref="MaxLimit"/>.</summary>
    [Id(4)] public int Limit { get; init; } = 100;
}

/// <summary>One transition of a job: when it happened, into which state, in which attempt, where and why.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobTransition")]
public sealed record JobTransition
{
    [Id(0)] public required DateTimeOffset Timestamp { get; init; }
    [Id(1)] public required JobState State { get; init; }
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
    [Id(0)] public required long Sequence { get; init; }
    [Id(1)] public required DateTimeOffset Timestamp { get; init; }
    [Id(2)] public required int Attempt { get; init; }
    [Id(3)] public required LogStream Stream { get; init; }
    [Id(4)] public required string Text { get; init; }
}

[GenerateSerializer, Alias("scheduler.LogStream")]
public enum LogStream
{
    System = 0,
    StdOut = 1,
    StdErr = 2,
}
