namespace Scheduler.Storage;

/// <summary>
/// Schedule rows (<c>scheduler_schedules</c>): each holds a schedule grain's state (its definition, pause state and
/// last runs, serialized and versioned). Every method returns only once its change is durable.
/// </summary>
public interface IScheduleStore
{
    /// <summary>
    /// Writes a schedule row. Version 1 creates it (and conflicts with an existing row); a higher version is written
    /// only over the version before it. False on a conflict (nothing written).
    /// </summary>
    Task<bool> SaveScheduleAsync(ScheduleRecord record, CancellationToken cancellationToken = default);

    /// <summary>The stored row of a schedule; null when it has none.</summary>
    Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a schedule's row if it is still at <paramref name="version"/>; false when it was not (nothing deleted).</summary>
    Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> rows with an id after <paramref name="after"/> (null: from the first), by id (ordinal).</summary>
    Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default);
}

/// <summary>One schedule row write.</summary>
/// <param name="Paused">Whether the schedule is paused (a column of its own, for listings).</param>
public sealed record ScheduleRecord(string Id, int Version, bool Paused, DateTimeOffset UpdatedAt, byte[] Data);

/// <summary>A schedule row as stored.</summary>
public sealed record StoredSchedule(string Id, int Version, byte[] Data);
