namespace Scheduler.Storage;

/// <summary>Failed (dead-lettered) jobs: listed from their rows, and purged with their history and log.</summary>
public interface IDeadLetterStore
{
    /// <summary>
    /// Failed jobs, most recently failed (updated) first, each with the reason of its last recorded transition as
    /// its last error.
    /// </summary>
    Task<IReadOnlyList<DeadLetter>> ListFailedAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the rows of those of the given jobs that are Failed, and the history and log of each given job that
    /// then has no row (so a job in any other state keeps everything). Returns how many job rows were deleted.
    /// </summary>
    Task<int> PurgeFailedAsync(IReadOnlyList<JobId> ids, CancellationToken cancellationToken = default);
}
