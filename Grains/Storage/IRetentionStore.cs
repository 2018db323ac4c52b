namespace Scheduler.Storage;

/// <summary>
/// Deletes finished jobs and workflows once their retention is over, a small batch per call, oldest first (see
/// <c>docs/retention.md</c>). A job goes with its history and log, in one transaction; a workflow's jobs go with their
/// workflow and never alone. Only rows that are final and last written before the cutoff are deleted, checked in the
/// deleting statement itself: a row a grain writes meanwhile (a requeued dead letter, a rerun workflow) is left alone.
/// </summary>
public interface IRetentionStore
{
    /// <summary>
    /// Deletes up to <paramref name="limit"/> jobs that are in the final <paramref name="state"/>, belong to no workflow
    /// and were last written before <paramref name="before"/>, oldest first, with their history and log. Returns how
    /// many jobs were deleted.
    /// </summary>
    Task<int> PruneJobsAsync(JobState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes up to <paramref name="limit"/> workflows that are in the final <paramref name="state"/>, were last written
    /// before <paramref name="before"/> and have no open (Queued or Running) job, oldest first, each with all its jobs
    /// and their history and logs.
    /// </summary>
    Task<PrunedWorkflows> PruneWorkflowsAsync(WorkflowState state, DateTimeOffset before, int limit, CancellationToken cancellationToken = default);
}

/// <summary>What one workflow batch deleted.</summary>
public readonly record struct PrunedWorkflows(int Workflows, int Jobs);
