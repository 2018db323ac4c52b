namespace Scheduler.Client;

/// <summary>Priority changes while jobs wait (docs/queues.md).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Gives a waiting (Queued) job another <paramref name="priority"/>, <see cref="JobPriority.Min"/> to
    /// <see cref="JobPriority.Max"/>: stored with the job, and its queue reorders at once. Refused with a
    /// <see cref="SchedulerException"/> when the priority is out of range (<see cref="SchedulerErrorCode.InvalidRequest"/>),
    /// the job is running or has finished (<see cref="SchedulerErrorCode.InvalidState"/>) or does not exist
    /// (<see cref="SchedulerErrorCode.NotFound"/>).
    /// </summary>
    Task ChangePriorityAsync(JobId id, int priority, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives a workflow another <paramref name="priority"/>: its jobs that wait to start take it at once, and so do the
    /// jobs it releases later; running and finished jobs are left as they are. Returns how many waiting jobs changed.
    /// Refused for a finished workflow or a priority out of range.
    /// </summary>
    Task<int> ChangeWorkflowPriorityAsync(WorkflowId id, int priority, CancellationToken cancellationToken = default);
}
