namespace Scheduler.Storage;

/// <summary>
/// Schedule rows (<c>scheduler_schedules</c>): each holds a schedule grain's state (its definition, pause state and
/// last runs, serialized and versioned). Every method returns only once its change is durable.
/// </summary>
public interface IScheduleStore
{
    /// <summary>
    /// Writes schedule rows, in order, in one transaction. Version 1 creates a row (and conflicts with an existing
    /// one); a higher version is written only over the version before it. Returns the ids of records not written for
    /// that reason.
    /// </summary>
    Task<IReadOnlyList<string>> SaveSchedulesAsync(IReadOnlyList<ScheduleRecord> records, CancellationToken cancellationToken = default);

    /// <summary>The stored row of a schedule; null when it has none.</summary>
    Task<StoredSchedule?> ReadScheduleAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a schedule's row if it is still at <paramref name="version"/>; false when it was not (nothing deleted).</summary>
    Task<bool> DeleteScheduleAsync(string id, int version, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> rows with an id after <paramref name="after"/> (null: from the first), by id (ordinal).</summary>
    Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(string? after, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Single-row writes to an <see cref="IScheduleStore"/>.</summary>
public static class ScheduleStoreExtensions
{
    /// <summary>Writes one schedule row (see <see cref="IScheduleStore.SaveSchedulesAsync"/>); false on a conflict (nothing written).</summary>
    public static async Task<bool> SaveScheduleAsync(this IScheduleStore store, ScheduleRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return (await store.SaveSchedulesAsync([record], cancellationToken).ConfigureAwait(false)).Count == 0;
    }
}

/// <summary>One schedule row write.</summary>
/// <param name="Paused">Whether the schedule is paused (a column of its own, for listings).</param>
public sealed record ScheduleRecord(string Id, int Version, bool Paused, DateTimeOffset UpdatedAt, byte[] Data);

/// <summary>A schedule row as stored.</summary>
public sealed record StoredSchedule(string Id, int Version, byte[] Data);
