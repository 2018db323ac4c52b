namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public async Task<WorkflowSubmitResult> SubmitWorkflowAsync(WorkflowDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = WorkflowValidation.Check(definition, _options.MaxPayloadBytes);
        if (!errors.IsEmpty)
            throw WorkflowRefused(errors, "nothing was submitted");
        // Fix the id before anything is sent, so a retried call cannot create a second workflow.
        var id = definition.Id ?? WorkflowId.New();
        var reply = await CallAsync(g => g.Reference<IWorkflowGrain>(id.Value).Submit(definition with { Id = id }), cancellationToken);
        Check(reply, "nothing was submitted");
        return new WorkflowSubmitResult(id, reply.Outcome ?? SubmitOutcome.Accepted, reply.State!.Value);
    }

    public Task<WorkflowStatus?> GetWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).GetStatus(), cancellationToken);

    public Task<WorkflowStatus?> WaitForWorkflowAsync(WorkflowId id, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitAsync(timeout, (g, wait) => g.Reference<IWorkflowGrain>(Checked(id)).WaitForFinal(wait), s => s.State.IsFinal(), cancellationToken);

    public async Task<WorkflowState> CancelWorkflowAsync(WorkflowId id, string? reason = null, CancellationToken cancellationToken = default)
    {
        if (reason is { Length: > 1000 })
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"reason is {reason.Length} characters; the limit is 1000");
        return Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Cancel(reason), cancellationToken)).State!.Value;
    }

    public async Task<int> RescheduleWorkflowAsync(WorkflowId id, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
    {
        if (RequestValidation.NotBeforeProblem(notBefore) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Reschedule(notBefore), cancellationToken)).Affected;
    }

    public async Task<WorkflowState> PauseWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Pause(), cancellationToken)).State!.Value;

    public async Task<WorkflowState> ResumeWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Resume(), cancellationToken)).State!.Value;

    public async Task<int> RerunFailedAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).RerunFailed(), cancellationToken)).Affected;

    public async Task<WorkflowState> AddToWorkflowAsync(WorkflowId id, IReadOnlyList<WorkflowJob> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "no jobs given");
        // Validated against the workflow's graph by its grain, all or nothing.
        return Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).AddJobs([.. jobs]), cancellationToken), "nothing was added").State!.Value;
    }

    private static Guid Checked(WorkflowId id) =>
        id.Value != Guid.Empty ? id.Value : throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "workflow id must not be the empty GUID");

    private static WorkflowReply Check(WorkflowReply reply, string consequence = "nothing changed") =>
        reply.Succeeded ? reply : throw WorkflowRefused(reply.Errors, consequence);

    private static SchedulerException WorkflowRefused(IReadOnlyList<RequestError> errors, string consequence)
    {
        var message = errors.Count == 1
            ? errors[0].Message
            : $"{errors.Count} problems, {consequence}: " + string.Join("; ", errors.Take(10).Select(e => e.Message)) + (errors.Count > 10 ? "; ..." : "");
        return new SchedulerException(errors[0].Code, message);
    }
}
