using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One grain per schedule, keyed by the schedule's id: keeps its row, fires its occurrences (a reminder as the
/// backstop, a timer for the precise time) and follows the runs it started.
/// </summary>
[Alias("scheduler.IScheduleGrain")]
public interface IScheduleGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the schedule, or updates it (its runs, pause state and creation time are kept). Validated whole; a
    /// refused definition changes nothing.
    /// </summary>
    [Alias("Upsert")]
    Task<ScheduleReply> Upsert(ScheduleDefinition definition);

    /// <summary>Stops firing until resumed; runs already started go on.</summary>
    [Alias("Pause")]
    Task<ScheduleReply> Pause(string? note);

    /// <summary>Fires again; occurrences missed while paused follow the missed-occurrence policy.</summary>
    [Alias("Resume")]
    Task<ScheduleReply> Resume(string? note);

    /// <summary>Fires one occurrence now (at the current time), under the overlap policy; paused or not.</summary>
    [Alias("Trigger")]
    Task<ScheduleReply> Trigger();

    /// <summary>
    /// Fires every occurrence from <paramref name="from"/> to <paramref name="to"/> (both included), oldest first,
    /// whatever the overlap policy. An occurrence that already ran is not run again.
    /// </summary>
    [Alias("Backfill")]
    Task<ScheduleReply> Backfill(DateTimeOffset from, DateTimeOffset to);

    /// <summary>Deletes the schedule; runs already started go on. False when there was none.</summary>
    [Alias("Delete")]
    Task<bool> Delete();

    /// <summary>The schedule with its next <paramref name="next"/> occurrences and last runs; null when there is none.</summary>
    [Alias("Describe"), AlwaysInterleave]
    Task<ScheduleStatus?> Describe(int next);

    /// <summary>
    /// Makes sure the schedule is active (its activation sets its timer and fires what is due). Each silo calls it for
    /// every schedule when it starts and when a silo dies, so a schedule whose silo died resumes within the failure
    /// detection time, not at its next reminder tick.
    /// </summary>
    [Alias("Wake"), AlwaysInterleave]
    Task Wake();

    /// <summary>A run this schedule started has ended (or is found ended); the schedule records the outcome.</summary>
    [Alias("RunEnded"), OneWay]
    Task RunEnded(Guid runId, ScheduleRunOutcome outcome);
}

/// <summary>Schedule listings: a stateless worker on every silo, reading the schedule rows.</summary>
[Alias("scheduler.IScheduleDirectoryGrain")]
public interface IScheduleDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Schedules with an id after <paramref name="after"/> (null: from the first), by id, at most <paramref name="limit"/>.</summary>
    [Alias("List")]
    Task<ImmutableArray<ScheduleSummary>> List(string? after, int limit);
}
