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

    public Task<WorkflowPage> ListWorkflowsAsync(WorkflowFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Problem() is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        return CallAsync(g => g.Reference<ISchedulerGrain>(0).ListWorkflows(filter), cancellationToken);
    }

    public Task<WorkflowStatus?> WaitForWorkflowAsync(WorkflowId id, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitAsync(timeout, (g, wait) => g.Reference<IWorkflowGrain>(Checked(id)).WaitForFinal(wait), s => s.State.IsFinal(), cancellationToken);

    public async Task<WorkflowState> CancelWorkflowAsync(WorkflowId id, string? reason = null, CancellationToken cancellationToken = default)
    {
        if (reason is { Length: > 1000 })
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"reason is {reason.Length} characters; the limit is 1000");
        var state = Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Cancel(reason), cancellationToken)).State!.Value;
        await AuditAsync("workflow.cancel", id.ToString(), reason is null ? state.ToString() : $"{state}: {reason}", cancellationToken);
        return state;
    }

    public async Task<int> RescheduleWorkflowAsync(WorkflowId id, DateTimeOffset? notBefore, CancellationToken cancellationToken = default)
    {
        if (RequestValidation.NotBeforeProblem(notBefore) is { } problem)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, problem);
        var moved = Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).Reschedule(notBefore), cancellationToken)).Affected;
        await AuditAsync("workflow.reschedule", id.ToString(), $"{moved} moved notBefore={notBefore:O}", cancellationToken);
        return moved;
    }

    public Task<WorkflowState> PauseWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        AuditedAsync("workflow.pause", id.ToString(), CallAsync(async g => Check(await g.Reference<IWorkflowGrain>(Checked(id)).Pause()).State!.Value, cancellationToken),
            s => s.ToString(), cancellationToken);

    public Task<WorkflowState> ResumeWorkflowAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        AuditedAsync("workflow.resume", id.ToString(), CallAsync(async g => Check(await g.Reference<IWorkflowGrain>(Checked(id)).Resume()).State!.Value, cancellationToken),
            s => s.ToString(), cancellationToken);

    public Task<int> RerunFailedAsync(WorkflowId id, CancellationToken cancellationToken = default) =>
        AuditedAsync("workflow.rerun", id.ToString(), CallAsync(async g => Check(await g.Reference<IWorkflowGrain>(Checked(id)).RerunFailed()).Affected, cancellationToken),
            n => $"{n} rerun", cancellationToken);

    public async Task<WorkflowState> AddToWorkflowAsync(WorkflowId id, IReadOnlyList<WorkflowJob> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, "no jobs given");
        // Validated against the workflow's graph by its grain, all or nothing.
        var state = Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).AddJobs([.. jobs]), cancellationToken), "nothing was added").State!.Value;
        await AuditAsync("workflow.add", id.ToString(), $"{jobs.Count} jobs", cancellationToken);
        return state;
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
