namespace Scheduler;

/// <summary>Rules every entry point applies to a request, so the SDK, the CLI and the silo say the same thing.</summary>
public static class RequestValidation
{
    /// <summary>Longest queue, handler or tenant name.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Checks what can be checked without a silo; returns null when the request is well-formed.</summary>
    public static (SchedulerErrorCode Code, string Message)? Check(JobRequest request, int maxPayloadBytes)
    {
        if (request is null)
            return (SchedulerErrorCode.InvalidRequest, "request is null");
        if (!IsName(request.Handler))
            return (SchedulerErrorCode.InvalidRequest, $"handler '{request.Handler}' is not a valid name ({NameRule})");
        if (!IsName(request.Queue))
            return (SchedulerErrorCode.InvalidRequest, $"queue '{request.Queue}' is not a valid name ({NameRule})");
        if (!IsName(request.Tenant))
            return (SchedulerErrorCode.InvalidRequest, $"tenant '{request.Tenant}' is not a valid name ({NameRule})");
        if (!JobPriority.IsValid(request.Priority))
            return (SchedulerErrorCode.InvalidRequest, JobPriority.RangeProblem(request.Priority));
        if (request.SizeHint is < 0)
            return (SchedulerErrorCode.InvalidRequest, $"size hint {request.SizeHint} must be 0 or more");
        var payloadLength = request.Payload.IsDefault ? 0 : request.Payload.Length;
        if (payloadLength > maxPayloadBytes)
            return (SchedulerErrorCode.PayloadTooLarge, $"payload is {payloadLength} bytes; the limit is {maxPayloadBytes} bytes");
        if (request.Limits is null)
            return (SchedulerErrorCode.InvalidRequest, "limits must not be null");
        if (request.Limits.MaxAttempts is < 1 or > JobLimits.MaxAllowedAttempts)
            return (SchedulerErrorCode.InvalidRequest, $"max attempts {request.Limits.MaxAttempts} is out of range: use 1 to {JobLimits.MaxAllowedAttempts}");
        if (request.Limits.Timeout is { } timeout && timeout <= TimeSpan.Zero)
            return (SchedulerErrorCode.InvalidRequest, $"timeout {timeout} must be positive");
        if (request.Retry?.Problem() is { } retryProblem)
            return (SchedulerErrorCode.InvalidRequest, retryProblem);
        if (request.IdempotencyKey is { } key && (key.Length == 0 || key.Length > 256))
            return (SchedulerErrorCode.InvalidRequest, "idempotency key must be 1 to 256 characters");
        if (request.Id is { } id && id.Value == Guid.Empty)
            return (SchedulerErrorCode.InvalidRequest, "job id must not be the empty GUID");
        if (NotBeforeProblem(request.NotBefore) is { } notBeforeProblem)
            return (SchedulerErrorCode.InvalidRequest, notBeforeProblem);
        if (FlowKeys.Problem(request.Concurrency) is { } keysProblem)
            return (SchedulerErrorCode.InvalidRequest, keysProblem);
        if (!Enum.IsDefined(request.Exclusive))
            return (SchedulerErrorCode.InvalidRequest, $"exclusive scope {(int)request.Exclusive} does not exist: use none, queue or cluster");
        if (request.TraceParent is { } traceParent && (traceParent.Length > 256
            || !System.Diagnostics.ActivityContext.TryParse(traceParent, null, out _)))
            return (SchedulerErrorCode.InvalidRequest, "trace parent is not a W3C traceparent (00-<32 hex digits>-<16 hex digits>-<2 hex digits>)");
        if (request.Webhook?.Problem() is { } webhookProblem)
            return (SchedulerErrorCode.InvalidRequest, webhookProblem);
        if (request.Workflow is not null)
            return (SchedulerErrorCode.InvalidRequest, "a job joins a workflow only through the workflow (submit the workflow, or add jobs to it)");
        return null;
    }

    /// <summary>How far ahead a delayed job or workflow may be due (<see cref="JobRequest.NotBefore"/>): about 10 years.</summary>
    public static readonly TimeSpan LongestDelay = TimeSpan.FromDays(3653);

    /// <summary>
    /// Null when <paramref name="notBefore"/> is a due time a job may have (null, past, or up to <see cref="LongestDelay"/>
    /// from now); else what is wrong with it.
    /// </summary>
    public static string? NotBeforeProblem(DateTimeOffset? notBefore)
    {
        if (notBefore is not { } due)
            return null;
        // Compared against the local clock: a limit of years needs no precision.
        var latest = DateTimeOffset.UtcNow + LongestDelay;
        return due > latest
            ? $"not before {due.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} is too far ahead: a job may be delayed by at most {LongestDelay.TotalDays / 365.25:0} years (until {latest.UtcDateTime:yyyy-MM-dd})"
            : null;
    }

    /// <summary>The rule for names, as error messages state it.</summary>
    public const string NameRule = "1 to 128 characters of letters, digits, '.', '-' and '_'";

    /// <summary>True when <paramref name="name"/> follows <see cref="NameRule"/>.</summary>
    public static bool IsName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                return false;
        }
        return true;
    }

    /// <summary>The id the job will have: derived from the idempotency key when there is one.</summary>
    public static JobId ResolveId(JobRequest request) =>
        request.IdempotencyKey is { } key ? JobId.FromIdempotencyKey(request.Tenant, key) : request.Id ?? JobId.New();
}
