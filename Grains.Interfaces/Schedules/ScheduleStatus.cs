using System.Collections.Immutable;

namespace Scheduler;

/// <summary>What became of one occurrence. Values are stored: never renumber them.</summary>
[GenerateSerializer, Alias("scheduler.ScheduleRunOutcome")]
public enum ScheduleRunOutcome
{
    /// <summary>Its run was submitted and has not ended (as far as the schedule knows).</summary>
    Running = 1,
    /// <summary>Its run succeeded.</summary>
    Succeeded = 2,
    /// <summary>Its run failed.</summary>
    Failed = 3,
    /// <summary>Its run was cancelled (by hand, or by <see cref="ScheduleOverlapPolicy.CancelPrevious"/>).</summary>
    Cancelled = 4,
    /// <summary>Nothing ran: the overlap policy skipped it.</summary>
    Skipped = 5,
    /// <summary>Nothing ran yet: it waits for the running run to end (<see cref="ScheduleOverlapPolicy.BufferOne"/>).</summary>
    Buffered = 6,
}

/// <summary>How an occurrence came to fire.</summary>
[GenerateSerializer, Alias("scheduler.ScheduleFireReason")]
public enum ScheduleFireReason
{
    /// <summary>Its time came.</summary>
    Scheduled = 1,
    /// <summary>It was missed and fired by the missed-occurrence policy.</summary>
    CatchUp = 2,
    /// <summary>Triggered by hand ("trigger now").</summary>
    Manual = 3,
    /// <summary>Fired by a backfill.</summary>
    Backfill = 4,
}

/// <summary>One occurrence of a schedule and its run.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleRun")]
public sealed record ScheduleRun
{
    /// <summary>The occurrence's time (UTC).</summary>
    [Id(0)] public required DateTimeOffset Occurrence { get; init; }
    /// <summary>
    /// The id of its run: a job id, or a workflow id when the template is a workflow. Derived from the schedule and
    /// the occurrence (see <see cref="ScheduleIds.RunIdOf"/>), also for skipped occurrences.
    /// </summary>
    [Id(1)] public required Guid RunId { get; init; }
    /// <summary>True when the run is a workflow.</summary>
    [Id(2)] public bool IsWorkflow { get; init; }
    /// <summary>What became of it.</summary>
    [Id(3)] public required ScheduleRunOutcome Outcome { get; init; }
    /// <summary>Why it fired.</summary>
    [Id(4)] public required ScheduleFireReason Reason { get; init; }
    /// <summary>When the schedule submitted it (or decided to skip it).</summary>
    [Id(5)] public required DateTimeOffset FiredAt { get; init; }
}

/// <summary>A schedule as a client sees it: its definition, its state, its next occurrences and its last runs.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleStatus")]
public sealed record ScheduleStatus
{
    /// <summary>The definition as last created or updated.</summary>
    [Id(0)] public required ScheduleDefinition Definition { get; init; }
    /// <summary>True while paused.</summary>
    [Id(1)] public bool Paused { get; init; }
    /// <summary>The note given with the last pause or resume.</summary>
    [Id(2)] public string? Note { get; init; }
    /// <summary>When it was created (kept across updates).</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Runs started so far (skipped occurrences do not count).</summary>
    [Id(4)] public long RunCount { get; init; }
    /// <summary>The next occurrences, in the schedule's time zone (empty when paused or ended).</summary>
    [Id(5)] public ImmutableArray<DateTimeOffset> NextOccurrences { get; init; } = [];
    /// <summary>The last runs, newest first (at most <see cref="ScheduleIds.MaxRunsKept"/>).</summary>
    [Id(6)] public ImmutableArray<ScheduleRun> LastRuns { get; init; } = [];
    /// <summary>True when it will fire no more (past its end, or its maximum runs reached).</summary>
    [Id(7)] public bool Ended { get; init; }
}

/// <summary>One row of a schedule listing.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleSummary")]
public sealed record ScheduleSummary
{
    /// <summary>The schedule's id.</summary>
    [Id(0)] public required string Id { get; init; }
    /// <summary>Its trigger.</summary>
    [Id(1)] public required ScheduleTrigger Trigger { get; init; }
    /// <summary>True while paused.</summary>
    [Id(2)] public bool Paused { get; init; }
    /// <summary>Runs started so far.</summary>
    [Id(3)] public long RunCount { get; init; }
    /// <summary>Its latest run, if any.</summary>
    [Id(4)] public ScheduleRun? LastRun { get; init; }
    /// <summary>True when the template is a workflow.</summary>
    [Id(5)] public bool IsWorkflow { get; init; }
    /// <summary>True when it will fire no more.</summary>
    [Id(6)] public bool Ended { get; init; }
}

/// <summary>The answer of a schedule grain to a command: what it did, or why it refused.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleReply")]
public sealed record ScheduleReply
{
    /// <summary>For an upsert: Accepted when the schedule was created, Existing when an existing one was updated.</summary>
    [Id(0)] public SubmitOutcome? Outcome { get; init; }
    /// <summary>The runs the command fired or recorded (trigger, backfill).</summary>
    [Id(1)] public ImmutableArray<ScheduleRun> Runs { get; init; } = [];
    /// <summary>Why the command was refused, if it was.</summary>
    [Id(2)] public ImmutableArray<RequestError> Errors { get; init; } = [];

    /// <summary>True when the command was carried out.</summary>
    public bool Succeeded => Errors.IsDefaultOrEmpty;

    /// <summary>A refusal with one error.</summary>
    public static ScheduleReply Refused(SchedulerErrorCode code, string message) => new() { Errors = [new RequestError(-1, code, message)] };
}
