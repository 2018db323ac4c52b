using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Scheduler.Telemetry;

/// <summary>
/// Traces that follow a job from its submit to its end, across silos: the submit span's W3C context is stored with the
/// job (<see cref="JobRequest.TraceParent"/>) and every attempt's span is its child, wherever the attempt runs.
/// </summary>
internal static partial class JobTracing
{
    /// <summary>The activity source, named like the meter.</summary>
    public static readonly ActivitySource Source = new(SchedulerMetrics.MeterName,
        typeof(JobTracing).Assembly.GetName().Version?.ToString());

    public const string SubmitName = "scheduler.job.submit";
    public const string AttemptName = "scheduler.job.attempt";

    /// <summary>
    /// Starts the submit span of one job, child of the context the request carries (the SDK captures its caller's) or
    /// of the current activity; returns the request carrying the span's context. With nothing listening no span is
    /// made, and the job carries what context there is (it may be recorded elsewhere).
    /// </summary>
    public static (JobRequest Request, Activity? Span) StartSubmit(JobRequest request)
    {
        Activity? span = null;
        if (Source.HasListeners())
        {
            ActivityContext.TryParse(request.TraceParent, null, out var parent);
            span = Source.StartActivity(SubmitName, ActivityKind.Producer, parent);
        }
        if (span is null)
        {
            return request.TraceParent is null && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current
                ? (request with { TraceParent = current.Id }, null)
                : (request, null);
        }
        if (span.IsAllDataRequested)
        {
            span.SetTag("scheduler.job.id", request.Id?.ToString());
            span.SetTag("scheduler.queue", request.Queue);
            span.SetTag("scheduler.handler", request.Handler);
            span.SetTag("scheduler.tenant", request.Tenant);
        }
        return (request with { TraceParent = span.Id }, span);
    }

    /// <summary>Starts the span of one attempt, child of the job's submit context; null when nothing records it.</summary>
    public static Activity? StartAttempt(JobExecution execution)
    {
        if (!Source.HasListeners())
            return null;
        ActivityContext.TryParse(execution.TraceParent, null, out var parent);
        // Not a child of whatever ran before on this thread: a job without a context starts a trace of its own.
        var previous = Activity.Current;
        Activity.Current = null;
        var span = Source.StartActivity(AttemptName, ActivityKind.Consumer, parent);
        if (span is null)
            Activity.Current = previous;
        else if (span.IsAllDataRequested)
        {
            span.SetTag("scheduler.job.id", execution.Id.ToString());
            span.SetTag("scheduler.job.attempt", execution.Attempt);
            span.SetTag("scheduler.queue", execution.Queue);
            span.SetTag("scheduler.handler", execution.Handler);
            span.SetTag("scheduler.tenant", execution.Tenant);
        }
        return span;
    }

    /// <summary>Ends an attempt's span with its outcome.</summary>
    public static void EndAttempt(Activity? span, JobResult? result)
    {
        if (span is null)
            return;
        span.SetTag("scheduler.job.outcome", result?.Outcome.ToString() ?? "none");
        if (result is null || result.Outcome != JobOutcome.Success)
            span.SetStatus(ActivityStatusCode.Error, result?.Reason ?? "the attempt ended without an outcome");
        span.Dispose();
    }

    /// <summary>
    /// A log scope for one attempt of a traced job: everything logged while it runs (the handler's own logging too)
    /// carries the job, the attempt and the job's trace id, even where no span is recorded. A job without a trace gets
    /// none: a scope costs allocations on every attempt, and there is no trace to correlate with.
    /// </summary>
    public static IDisposable? BeginAttemptScope(ILogger logger, JobExecution execution) =>
        ActivityContext.TryParse(execution.TraceParent, null, out var context)
            ? AttemptScope(logger, execution.Id, execution.Attempt, context.TraceId.ToString())
            : null;

    private static readonly Func<ILogger, JobId, int, string?, IDisposable?> AttemptScope =
        LoggerMessage.DefineScope<JobId, int, string?>("Job {JobId} attempt {Attempt} trace {TraceId}");
}
