namespace Scheduler;

/// <summary>How an attempt ended, as its handler reported it.</summary>
[GenerateSerializer, Alias("scheduler.JobOutcome")]
public enum JobOutcome
{
    /// <summary>The job succeeded.</summary>
    Success = 1,
    /// <summary>Failed this time; try again while attempts remain.</summary>
    Retriable = 2,
    /// <summary>Failed for good; do not retry.</summary>
    Fatal = 3,
}

/// <summary>What a handler returns. Build it with the factories.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobResult")]
public sealed record JobResult
{
    /// <summary>How the attempt ended.</summary>
    [Id(0)] public JobOutcome Outcome { get; init; }
    /// <summary>Why it did not succeed; null on success.</summary>
    [Id(1)] public string? Reason { get; init; }
    /// <summary>For <see cref="JobOutcome.Retriable"/>: how long to wait before the next attempt.</summary>
    [Id(2)] public TimeSpan? RetryAfter { get; init; }

    private JobResult() { }

    /// <summary>The attempt succeeded.</summary>
    public static JobResult Success() => SuccessInstance;

    /// <summary>
    /// The attempt failed; retry while attempts remain, after <paramref name="after"/> if given, else after the retry
    /// policy's backoff.
    /// </summary>
    public static JobResult Retry(string reason, TimeSpan? after = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (after is { } delay)
            ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(after));
        return new() { Outcome = JobOutcome.Retriable, Reason = reason, RetryAfter = after };
    }

    /// <summary>The attempt failed for good: no retry, the job is dead-lettered.</summary>
    public static JobResult Fatal(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new() { Outcome = JobOutcome.Fatal, Reason = reason };
    }

    private static readonly JobResult SuccessInstance = new() { Outcome = JobOutcome.Success };
}
