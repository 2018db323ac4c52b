using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One grain per workflow, keyed by <see cref="WorkflowId"/>: holds the graph and the state of each job, and
/// releases a job into its queue when its parents have ended as its dependencies require.
/// </summary>
[Alias("scheduler.IWorkflowGrain")]
public interface IWorkflowGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Validates the whole definition and records it, releasing the jobs without parents; or refuses it and records
    /// nothing. Idempotent: an existing workflow is returned as it is.
    /// </summary>
    [Alias("Submit")]
    Task<WorkflowReply> Submit(WorkflowDefinition definition);

    /// <summary>A job of this workflow reached a final state. One-way: jobs never wait for their workflow.</summary>
    [Alias("JobFinished"), OneWay]
    Task JobFinished(WorkflowJobEvent finished);

    /// <summary>Null when no such workflow exists.</summary>
    [Alias("GetStatus"), AlwaysInterleave]
    Task<WorkflowStatus?> GetStatus();

    /// <summary>Long poll: answers when the workflow is final, or after <paramref name="maxWait"/>.</summary>
    [Alias("WaitForFinal"), AlwaysInterleave]
    Task<WorkflowStatus?> WaitForFinal(TimeSpan maxWait);

    /// <summary>Cancels every job that has not ended (queued and running ones too); the workflow ends Cancelled.</summary>
    [Alias("Cancel")]
    Task<WorkflowReply> Cancel(string? reason);

    /// <summary>Stops releasing jobs; jobs already queued or running go on.</summary>
    [Alias("Pause")]
    Task<WorkflowReply> Pause();

    /// <summary>Releases the jobs that became ready while paused, and releases jobs again from then on.</summary>
    [Alias("Resume")]
    Task<WorkflowReply> Resume();

    /// <summary>Runs again every job that failed, was cancelled or was skipped, as new jobs; succeeded jobs are kept.</summary>
    [Alias("RerunFailed")]
    Task<WorkflowReply> RerunFailed();

    /// <summary>
    /// Adds jobs, which may depend on existing jobs (finished or not) and on each other. Validated like a submit:
    /// all are added or none.
    /// </summary>
    [Alias("AddJobs")]
    Task<WorkflowReply> AddJobs(ImmutableArray<WorkflowJob> jobs);

    /// <summary>
    /// Checks every released job with its grain and applies what the workflow has not heard of. The silos' watchdog
    /// calls it for workflows that have jobs out and have not changed for a while; calling it otherwise is harmless.
    /// </summary>
    [Alias("Reconcile")]
    Task Reconcile();

    /// <summary>
    /// Moves the workflow's due time (null or past: now): its jobs that have not started wait for the new time, and so
    /// do jobs it releases later. Refused for a finished workflow.
    /// </summary>
    [Alias("Reschedule")]
    Task<WorkflowReply> Reschedule(DateTimeOffset? notBefore);

    /// <summary>
    /// Gives the workflow another priority: its jobs that wait to start take it at once (their shards reorder), and so
    /// do jobs it releases later; running and finished jobs are left as they are. <see cref="WorkflowReply.Affected"/>
    /// counts the waiting jobs changed. Refused for a finished workflow or a priority out of range.
    /// </summary>
    [Alias("ChangePriority")]
    Task<WorkflowReply> ChangePriority(int priority);
}
