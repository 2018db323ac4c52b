using Microsoft.Extensions.Logging;

namespace Scheduler.Workflows;

public sealed partial class WorkflowGrain
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Workflow {WorkflowId}: submitted with {Jobs} jobs, {Released} released at once")]
    private static partial void LogSubmitted(ILogger logger, WorkflowId workflowId, int jobs, int released);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow {WorkflowId}: {Count} job reports could not be applied; reconciling with the jobs will")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, WorkflowId workflowId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow {WorkflowId}: releasing or cancelling jobs failed; retrying by reconciling")]
    private static partial void LogApplyFailed(ILogger logger, Exception exception, WorkflowId workflowId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workflow {WorkflowId}: job '{Job}' was {State} without a report; applied by reconciling")]
    private static partial void LogReconciled(ILogger logger, WorkflowId workflowId, string job, JobState state);
}
