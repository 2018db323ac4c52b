namespace Scheduler.Client;

/// <summary>Recurring schedules: a job or workflow template fired by cron or interval (see <see cref="ScheduleDefinition"/>).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Creates the schedule, or updates the one with its id (keeping its runs and pause state; the new definition
    /// applies from now on). Validated whole before anything is stored; refused with a <see cref="SchedulerException"/>
    /// naming every problem. Returns Accepted when created, Existing when updated.
    /// </summary>
    Task<SubmitOutcome> UpsertScheduleAsync(ScheduleDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>
    /// The schedule with its next <paramref name="nextOccurrences"/> occurrences (in its time zone) and its last runs;
    /// null when there is none.
    /// </summary>
    Task<ScheduleStatus?> GetScheduleAsync(string id, int nextOccurrences = 5, CancellationToken cancellationToken = default);

    /// <summary>Schedules by id, after <paramref name="after"/> (null: from the first), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ScheduleSummary>> ListSchedulesAsync(string? after = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>Stops the schedule firing (runs already started go on), with an optional note shown by describe.</summary>
    Task PauseScheduleAsync(string id, string? note = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fires the schedule again; what it missed while paused follows its <see cref="ScheduleDefinition.Missed"/> policy.
    /// Returns the catch-up runs fired at once.
    /// </summary>
    Task<IReadOnlyList<ScheduleRun>> ResumeScheduleAsync(string id, string? note = null, CancellationToken cancellationToken = default);

    /// <summary>Fires one occurrence now, under the overlap policy (so it may be skipped or buffered); returns it.</summary>
    Task<ScheduleRun> TriggerScheduleAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fires every occurrence of the schedule from <paramref name="from"/> to <paramref name="to"/> (both included, in the
    /// past, at most <see cref="ScheduleIds.MaxBackfill"/>), whatever the overlap policy. An occurrence that already ran
    /// is not run again. Returns the runs, oldest first.
    /// </summary>
    Task<IReadOnlyList<ScheduleRun>> BackfillScheduleAsync(string id, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>Deletes the schedule (runs already started go on). False when there was none.</summary>
    Task<bool> DeleteScheduleAsync(string id, CancellationToken cancellationToken = default);
}
