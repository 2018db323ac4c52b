namespace Scheduler.Client;

/// <summary>Workflows: graphs of jobs with dependencies (see <see cref="WorkflowDefinition"/>).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Validates the whole workflow (cycles, unknown dependencies, duplicate names, limits, every job's request) and
    /// submits it; refused whole with a <see cref="SchedulerException"/> naming every problem, leaving nothing behind.
    /// Jobs without dependencies are queued at once. Resubmitting the same <see cref="WorkflowDefinition.Id"/> returns
    /// the existing workflow.
    /// </summary>
    Task<WorkflowSubmitResult> SubmitWorkflowAsync(WorkflowDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>The workflow's state, counts by job state, and each job's state and times; null when no such workflow exists.</summary>
    Task<WorkflowStatus?> GetWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Workflows newest first, filtered by state, tenant and name; pass the page's <see cref="WorkflowPage.Next"/> as
    /// <see cref="WorkflowFilter.After"/> for the next page. Throws <see cref="SchedulerException"/> for a bad filter.
    /// </summary>
    Task<WorkflowPage> ListWorkflowsAsync(WorkflowFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the workflow reaches a final state (long polls, no busy loop) or <paramref name="timeout"/> passes,
    /// and returns its last known status; null when no such workflow exists.
    /// </summary>
    Task<WorkflowStatus?> WaitForWorkflowAsync(WorkflowId id, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Cancels every job that has not ended, queued or running; the workflow ends Cancelled. Returns its state.</summary>
    Task<WorkflowState> CancelWorkflowAsync(WorkflowId id, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a delayed workflow's due time (null or a time already past: now). Its jobs that have not started wait for
    /// the new time, and so do the jobs it releases later. Returns how many queued jobs were moved.
    /// </summary>
    Task<int> RescheduleWorkflowAsync(WorkflowId id, DateTimeOffset? notBefore, CancellationToken cancellationToken = default);

    /// <summary>Stops releasing jobs (jobs already queued or running go on). Returns the workflow's state.</summary>
    Task<WorkflowState> PauseWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default);

    /// <summary>Releases the jobs that became ready while paused, and goes on. Returns the workflow's state.</summary>
    Task<WorkflowState> ResumeWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs the failed part again: every failed, cancelled or skipped job, as a new job (a new run), after its parents;
    /// succeeded jobs are kept. Returns how many jobs will run again.
    /// </summary>
    Task<int> RerunFailedAsync(WorkflowId id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds jobs to a running, paused or succeeded workflow. They may depend on each other and on existing jobs; a
    /// job whose parents have already succeeded is queued at once. All are added or none. Returns the workflow's state.
    /// </summary>
    Task<WorkflowState> AddToWorkflowAsync(WorkflowId id, IReadOnlyList<WorkflowJob> jobs, CancellationToken cancellationToken = default);
}
