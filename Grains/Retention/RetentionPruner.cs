using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Storage;

namespace Scheduler.Retention;

/// <summary>
/// One retention run: for each final state with a retention, deletes standalone jobs, then workflows with their jobs,
/// that finished before the cutoff, a batch at a time with a pause after each full batch (at least <see cref="RetentionOptions.BatchPause"/>, longer
/// as batches slow down: <see cref="RetentionOptions.MaxDutyCycle"/>), until none is left. The
/// cutoffs are taken once, at the start: rows that age meanwhile wait for the next run.
/// </summary>
public sealed partial class RetentionPruner(
    IRetentionStore store,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<RetentionPruner> logger,
    LegacyState? legacy = null)
{
    private static readonly JobState[] States = [JobState.Succeeded, JobState.Cancelled, JobState.Failed];

    public async Task<RetentionRun> RunAsync(CancellationToken cancellationToken = default)
    {
        var retention = options.Value.Retention;
        var run = new RetentionRun();
        if (!retention.Enabled)
            return run;

        var started = Stopwatch.GetTimestamp();
        var now = time.GetUtcNow();
        // A workflow stored before schema version 5 still has its state in the Orleans grain storage, which its grain
        // reads when it has no row: deleting its row would bring that old state back. Such installations keep their
        // workflows (and their jobs) until that state is cleared.
        var pruneWorkflows = legacy is null || !await legacy.HasStateAsync(WorkflowGrainStorage.StateName, cancellationToken).ConfigureAwait(false);
        if (!pruneWorkflows)
            LogLegacyWorkflows(logger);
        foreach (var state in States)
        {
            if (retention.For(state) is not { } keep)
                continue;
            var before = now - keep;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batchStarted = time.GetTimestamp();
                var deleted = await store.PruneJobsAsync(state, before, retention.BatchSize, cancellationToken).ConfigureAwait(false);
                run.Add(state, deleted);
                run.Batches++;
                LogJobBatch(logger, deleted, state, before);
                if (deleted < retention.BatchSize)
                    break;
                await PauseAsync(retention.PauseAfter(time.GetElapsedTime(batchStarted)), cancellationToken).ConfigureAwait(false);
            }
            var workflowState = (WorkflowState)(int)state;
            while (pruneWorkflows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batchStarted = time.GetTimestamp();
                var pruned = await store.PruneWorkflowsAsync(workflowState, before, retention.WorkflowBatchSize, cancellationToken).ConfigureAwait(false);
                run.Workflows += pruned.Workflows;
                run.WorkflowJobs += pruned.Jobs;
                run.Batches++;
                LogWorkflowBatch(logger, pruned.Workflows, pruned.Jobs, workflowState, before);
                if (pruned.Workflows < retention.WorkflowBatchSize)
                    break;
                await PauseAsync(retention.PauseAfter(time.GetElapsedTime(batchStarted)), cancellationToken).ConfigureAwait(false);
            }
        }
        run.Elapsed = Stopwatch.GetElapsedTime(started);
        LogRun(logger, run.Succeeded, run.Cancelled, run.Failed, run.Workflows, run.WorkflowJobs, run.Batches, run.Elapsed);
        return run;
    }

    private Task PauseAsync(TimeSpan pause, CancellationToken cancellationToken) =>
        pause > TimeSpan.Zero ? Task.Delay(pause, time, cancellationToken) : Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention: deleted {Count} {State} jobs that finished before {Before:o}")]
    private static partial void LogJobBatch(ILogger logger, int count, JobState state, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention: deleted {Count} {State} workflows that finished before {Before:o}, with {Jobs} jobs")]
    private static partial void LogWorkflowBatch(ILogger logger, int count, int jobs, WorkflowState state, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention: workflows are kept, because the Orleans grain storage still holds workflow state from before schema version 5 (their grains would read it again once their rows were deleted)")]
    private static partial void LogLegacyWorkflows(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention run: deleted {Succeeded} succeeded, {Cancelled} cancelled and {Failed} failed jobs, and {Workflows} workflows with {WorkflowJobs} jobs, in {Batches} batches and {Elapsed}")]
    private static partial void LogRun(ILogger logger, long succeeded, long cancelled, long failed, long workflows, long workflowJobs, int batches, TimeSpan elapsed);
}

/// <summary>What one retention run deleted.</summary>
public sealed class RetentionRun
{
    public long Succeeded { get; set; }
    public long Cancelled { get; set; }
    public long Failed { get; set; }
    public long Workflows { get; set; }
    public long WorkflowJobs { get; set; }
    public int Batches { get; set; }
    public TimeSpan Elapsed { get; set; }

    /// <summary>Every job deleted: standalone and workflows' jobs.</summary>
    public long Jobs => Succeeded + Cancelled + Failed + WorkflowJobs;

    internal void Add(JobState state, int deleted)
    {
        switch (state)
        {
            case JobState.Succeeded: Succeeded += deleted; break;
            case JobState.Cancelled: Cancelled += deleted; break;
            default: Failed += deleted; break;
        }
    }
}
