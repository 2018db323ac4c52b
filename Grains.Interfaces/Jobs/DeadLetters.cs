namespace Scheduler;

/// <summary>Why a job was dead-lettered (ended Failed). Values are stored and sent on the wire: never renumber them.</summary>
[GenerateSerializer, Alias("scheduler.DeadLetterReason")]
public enum DeadLetterReason
{
    /// <summary>An attempt ended with a fatal outcome (or an exception, for a handler whose exceptions are fatal).</summary>
    Fatal = 1,

    /// <summary>The last allowed attempt failed with a retriable outcome, or lost its lease.</summary>
    AttemptsExhausted = 2,
}

/// <summary>
/// The dead-letter queue is the set of Failed jobs. Their last error starts with a fixed phrase per reason, so a
/// listing (which reads it from the job's history) can tell the reason without loading each job.
/// </summary>
public static class DeadLetters
{
    /// <summary>How a fatal outcome's last error starts (followed by the attempt number).</summary>
    public const string FatalPrefix = "fatal in attempt ";

    /// <summary>Most job ids one requeue or purge call takes.</summary>
    public const int MaxIdsPerCall = 1000;

    /// <summary>The reason a Failed job with this last error was dead-lettered.</summary>
    public static DeadLetterReason ReasonOf(string? lastError) =>
        lastError is not null && lastError.StartsWith(FatalPrefix, StringComparison.Ordinal)
            ? DeadLetterReason.Fatal
            : DeadLetterReason.AttemptsExhausted;
}

/// <summary>One dead-lettered job, as a listing shows it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.DeadLetter")]
public sealed record DeadLetter
{
    /// <summary>The job's id.</summary>
    [Id(0)] public required JobId Id { get; init; }
    /// <summary>Why it was dead-lettered.</summary>
    [Id(1)] public required DeadLetterReason Reason { get; init; }
    /// <summary>The error of the last attempt (or why the job could not run).</summary>
    [Id(2)] public string? LastError { get; init; }
    /// <summary>The handler the job was for.</summary>
    [Id(3)] public required string Handler { get; init; }
    /// <summary>The queue it ran in.</summary>
    [Id(4)] public required string Queue { get; init; }
    /// <summary>Who submitted it.</summary>
    [Id(5)] public required string Tenant { get; init; }
    /// <summary>Its priority.</summary>
    [Id(6)] public int Priority { get; init; }
    /// <summary>Attempts made.</summary>
    [Id(7)] public int Attempt { get; init; }
    /// <summary>When it was submitted.</summary>
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the job failed (its last transition).</summary>
    [Id(9)] public DateTimeOffset FailedAt { get; init; }
}

/// <summary>Which dead-lettered jobs to list or purge; null means "any".</summary>
[GenerateSerializer, Immutable, Alias("scheduler.DeadLetterFilter")]
public sealed record DeadLetterFilter
{
    /// <summary>Only jobs of this queue.</summary>
    [Id(0)] public string? Queue { get; init; }
    /// <summary>Only jobs of this tenant.</summary>
    [Id(1)] public string? Tenant { get; init; }
    /// <summary>Only jobs for this handler.</summary>
    [Id(2)] public string? Handler { get; init; }
    /// <summary>Only jobs that failed before this time (e.g. now minus 7 days).</summary>
    [Id(3)] public DateTimeOffset? FailedBefore { get; init; }
    /// <summary>Most rows returned, most recently failed first (for a purge: most jobs purged per batch). Default 100, at most <see cref="JobFilter.MaxLimit"/>.</summary>
    [Id(4)] public int Limit { get; init; } = 100;

    /// <summary>What is wrong with this filter, or null.</summary>
    public string? Problem()
    {
        if (Queue is not null && !RequestValidation.IsName(Queue))
            return $"queue '{Queue}' is not a valid name ({RequestValidation.NameRule})";
        if (Tenant is not null && !RequestValidation.IsName(Tenant))
            return $"tenant '{Tenant}' is not a valid name ({RequestValidation.NameRule})";
        if (Handler is not null && !RequestValidation.IsName(Handler))
            return $"handler '{Handler}' is not a valid name ({RequestValidation.NameRule})";
        if (Limit is < 1 or > JobFilter.MaxLimit)
            return $"limit {Limit} is out of range: use 1 to {JobFilter.MaxLimit}";
        return null;
    }
}

/// <summary>What a requeue did to one job.</summary>
[GenerateSerializer, Alias("scheduler.RequeueOutcome")]
public enum RequeueOutcome
{
    /// <summary>The job is Queued again with a fresh attempt budget.</summary>
    Requeued = 1,
    /// <summary>No such job.</summary>
    NotFound = 2,
    /// <summary>The job exists but is not Failed (queued, running, succeeded or cancelled): nothing changed.</summary>
    NotDeadLettered = 3,
}

/// <summary>The outcome of requeuing one job.</summary>
/// <param name="Id">The job.</param>
/// <param name="Outcome">What happened to it.</param>
[GenerateSerializer, Immutable, Alias("scheduler.RequeueResult")]
public sealed record RequeueResult(
    [property: Id(0)] JobId Id,
    [property: Id(1)] RequeueOutcome Outcome);

/// <summary>What a purge did to one job.</summary>
[GenerateSerializer, Alias("scheduler.PurgeOutcome")]
public enum PurgeOutcome
{
    /// <summary>The job, its history and its log are deleted; it reads back as not found.</summary>
    Purged = 1,
    /// <summary>No such job.</summary>
    NotFound = 2,
    /// <summary>The job exists but is not Failed: nothing was deleted.</summary>
    NotDeadLettered = 3,
}

/// <summary>The outcome of purging one job.</summary>
/// <param name="Id">The job.</param>
/// <param name="Outcome">What happened to it.</param>
[GenerateSerializer, Immutable, Alias("scheduler.PurgeResult")]
public sealed record PurgeResult(
    [property: Id(0)] JobId Id,
    [property: Id(1)] PurgeOutcome Outcome);
