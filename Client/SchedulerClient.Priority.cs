namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public async Task ChangePriorityAsync(JobId id, int priority, CancellationToken cancellationToken = default)
    {
        if (!JobPriority.IsValid(priority))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, JobPriority.RangeProblem(priority));
        var outcome = await CallAsync(g => g.Reference<IJobGrain>(id.Value).ChangePriority(priority), cancellationToken);
        switch (outcome)
        {
            case PriorityChangeOutcome.Changed:
                await AuditAsync("job.priority", id.ToString(), $"priority={priority}", cancellationToken);
                return;
            case PriorityChangeOutcome.NotFound:
                throw new SchedulerException(SchedulerErrorCode.NotFound, $"job {id} not found");
            case PriorityChangeOutcome.Running:
                throw new SchedulerException(SchedulerErrorCode.InvalidState, $"job {id} is running: its priority can change only while it waits");
            case PriorityChangeOutcome.AlreadyFinal:
                throw new SchedulerException(SchedulerErrorCode.InvalidState, $"job {id} has already finished: its priority can change only while it waits");
            default:
                throw new SchedulerException(SchedulerErrorCode.Unavailable, $"job {id}: unexpected answer {outcome}");
        }
    }

    public async Task<int> ChangeWorkflowPriorityAsync(WorkflowId id, int priority, CancellationToken cancellationToken = default)
    {
        if (!JobPriority.IsValid(priority))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, JobPriority.RangeProblem(priority));
        var changed = Check(await CallAsync(g => g.Reference<IWorkflowGrain>(Checked(id)).ChangePriority(priority), cancellationToken)).Affected;
        await AuditAsync("workflow.priority", id.ToString(), $"priority={priority}: {changed} jobs", cancellationToken);
        return changed;
    }
}
