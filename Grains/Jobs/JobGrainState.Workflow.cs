namespace Scheduler.Jobs;

public sealed partial class JobGrainState
{
    /// <summary>The workflow this job belongs to, told when the job reaches a final state.</summary>
    [Id(22)] public WorkflowId? Workflow { get; set; }
}
