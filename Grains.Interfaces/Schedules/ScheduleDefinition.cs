namespace Scheduler;

/// <summary>
/// What a schedule does when an occurrence comes while the run of an earlier one has not ended.
/// Values are stored and sent on the wire: never renumber them.
/// </summary>
[GenerateSerializer, Alias("scheduler.ScheduleOverlapPolicy")]
public enum ScheduleOverlapPolicy
{
    /// <summary>The occurrence is skipped (recorded as such): never two runs of one schedule at once. The default.</summary>
    Skip = 1,

    /// <summary>The occurrence waits and starts when the running one ends; at most one waits, later ones are skipped.</summary>
    BufferOne = 2,

    /// <summary>Every occurrence starts, whatever is still running.</summary>
    AllowAll = 3,

    /// <summary>The running run is cancelled and the occurrence starts.</summary>
    CancelPrevious = 4,
}

/// <summary>
/// What a schedule does with occurrences that passed while it could not fire them (the cluster was down, the schedule
/// paused). Values are stored and sent on the wire: never renumber them.
/// </summary>
[GenerateSerializer, Alias("scheduler.ScheduleMissedPolicy")]
public enum ScheduleMissedPolicy
{
    /// <summary>One catch-up run, for the latest missed occurrence. The default.</summary>
    FireOnce = 1,

    /// <summary>Every missed occurrence within <see cref="ScheduleDefinition.CatchUpWindow"/> runs, oldest first.</summary>
    FireAll = 2,

    /// <summary>Missed occurrences are dropped; the schedule goes on with the next one.</summary>
    Skip = 3,
}

/// <summary>
/// When a schedule fires: a cron expression in a time zone, or a fixed interval. Exactly one of
/// <see cref="Cron"/> and <see cref="Interval"/> is set.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleTrigger")]
public sealed record ScheduleTrigger
{
    /// <summary>
    /// A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first,
    /// e.g. "0 3 * * *" (every day at 03:00) or "*/10 * * * * *" (every 10 seconds).
    /// </summary>
    [Id(0)] public string? Cron { get; init; }

    /// <summary>The IANA time zone the cron expression is read in (e.g. "Europe/Berlin"); default "UTC".</summary>
    [Id(1)] public string TimeZone { get; init; } = "UTC";

    /// <summary>
    /// A fixed interval (1 s or more) instead of a cron expression. Occurrences are the start (else the creation
    /// time of the schedule) plus whole intervals.
    /// </summary>
    [Id(2)] public TimeSpan? Interval { get; init; }

    /// <summary>A cron trigger, read in <paramref name="timeZone"/>.</summary>
    public static ScheduleTrigger FromCron(string cron, string timeZone = "UTC") => new() { Cron = cron, TimeZone = timeZone };

    /// <summary>A fixed-interval trigger.</summary>
    public static ScheduleTrigger Every(TimeSpan interval) => new() { Interval = interval };
}

/// <summary>
/// A recurring schedule: a user-chosen <see cref="Id"/>, a template (<see cref="Job"/> or <see cref="Workflow"/>) and a
/// <see cref="Trigger"/>. Each occurrence's run gets an id derived from the schedule and the occurrence time, so an
/// occurrence never runs twice.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.ScheduleDefinition")]
public sealed record ScheduleDefinition
{
    /// <summary>Longest schedule id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The schedule's id, chosen by the user (e.g. "nightly-rescan"): <see cref="RequestValidation.NameRule"/>.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>The job each occurrence submits (its id and idempotency key are left unset). Set this or <see cref="Workflow"/>.</summary>
    [Id(1)] public JobRequest? Job { get; init; }

    /// <summary>The workflow each occurrence submits (its id left unset). Set this or <see cref="Job"/>.</summary>
    [Id(2)] public WorkflowDefinition? Workflow { get; init; }

    /// <summary>When it fires.</summary>
    [Id(3)] public required ScheduleTrigger Trigger { get; init; }

    /// <summary>No occurrence before this time; null: from the schedule's creation on.</summary>
    [Id(4)] public DateTimeOffset? StartAt { get; init; }

    /// <summary>No occurrence after this time; null: no end.</summary>
    [Id(5)] public DateTimeOffset? EndAt { get; init; }

    /// <summary>Most runs it starts in all (skipped occurrences do not count); null: no limit.</summary>
    [Id(6)] public int? MaxRuns { get; init; }

    /// <summary>
    /// Each run starts up to this much after its occurrence, by an amount fixed per occurrence (spreads schedules
    /// that share a time); null or zero: on time. At most 1 hour.
    /// </summary>
    [Id(7)] public TimeSpan? Jitter { get; init; }

    /// <summary>What happens when an occurrence comes while an earlier run is still going.</summary>
    [Id(8)] public ScheduleOverlapPolicy Overlap { get; init; } = ScheduleOverlapPolicy.Skip;

    /// <summary>What happens to occurrences missed while the cluster was down or the schedule paused.</summary>
    [Id(9)] public ScheduleMissedPolicy Missed { get; init; } = ScheduleMissedPolicy.FireOnce;

    /// <summary>With <see cref="ScheduleMissedPolicy.FireAll"/>: how far back missed occurrences still run. Default 1 hour.</summary>
    [Id(10)] public TimeSpan? CatchUpWindow { get; init; }
}
