namespace Scheduler;

public sealed partial record JobRequest
{
    /// <summary>The workflow the job belongs to. Set by the scheduler only; a submit that sets it is refused.</summary>
    [Id(9)] public WorkflowId? Workflow { get; init; }
}
