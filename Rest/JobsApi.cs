using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Client;
using static Scheduler.Rest.Endpoints;

namespace Scheduler.Rest;

/// <summary>/jobs: submit, batch submit, list, get, wait, cancel, reschedule, requeue, history, logs and log tail.</summary>
internal static class JobsApi
{
    private const int LogPage = 1000;

    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder api)
    {
        var jobs = api.MapGroup("/jobs").WithTags("Jobs");
        var viewer = RestApiExtensions.Policy(ApiRole.Viewer);
        var submitter = RestApiExtensions.Policy(ApiRole.Submitter);
        var operatorRole = RestApiExtensions.Policy(ApiRole.Operator);

        jobs.MapPost("", Submit).RequireAuthorization(submitter).Accepts<JobRequest>("application/json")
            .Produces<SubmitResult>(StatusCodes.Status201Created).Produces<SubmitResult>().WithSummary("Submit a job");
        jobs.MapPost("/batch", SubmitBatch).RequireAuthorization(submitter).Accepts<BatchBody>("application/json")
            .Produces<IReadOnlyList<SubmitResult>>().WithSummary("Submit jobs, all or none");
        jobs.MapGet("", List).RequireAuthorization(viewer)
            .WithSummary("List jobs, newest first, a page at a time; filters: state, queue, tenant, handler, createdAfter, createdBefore, id (a prefix), q (free text: a prefix of the id, handler or tenant)");
        jobs.MapGet("/{id:guid}", Get).RequireAuthorization(viewer).WithSummary("A job's status");
        jobs.MapGet("/{id:guid}/wait", Wait).RequireAuthorization(viewer)
            .WithSummary("Long poll: answers once the job is final or the timeout (seconds, at most 300) passes");
        jobs.MapPost("/{id:guid}/cancel", Cancel).RequireAuthorization(operatorRole).Accepts<CancelBody>("application/json").WithSummary("Cancel a job");
        jobs.MapPost("/{id:guid}/reschedule", Reschedule).RequireAuthorization(operatorRole).Accepts<RescheduleBody>("application/json")
            .WithSummary("Move a queued job's due time");
        jobs.MapPost("/{id:guid}/priority", ChangePriority).RequireAuthorization(operatorRole).Accepts<PriorityBody>("application/json")
            .WithSummary("Give a queued job another priority (0 to 100); 409 when it is running or has ended");
        jobs.MapPost("/{id:guid}/requeue", Requeue).RequireAuthorization(operatorRole).Accepts<RequeueBody>("application/json")
            .WithSummary("Retry a dead-lettered job");
        jobs.MapGet("/{id:guid}/history", History).RequireAuthorization(viewer).WithSummary("A job's transitions, oldest first");
        jobs.MapGet("/{id:guid}/logs", Logs).RequireAuthorization(viewer).WithSummary("A job's log lines after a sequence number");
        jobs.MapGet("/{id:guid}/logs/stream", Tail).RequireAuthorization(viewer)
            .WithSummary("Server-sent events: the job's log lines as they are written (event 'log'), then 'end' with its final status");
        return api;
    }

    private static async Task<IResult> Submit(HttpContext http, ISchedulerClient client)
    {
        var (request, problem) = await ApiJson.ReadAsync<JobRequest>(http.Request);
        if (problem is not null)
            return problem;
        var (scoped, scopeProblem) = Scope(Caller.Of(http), request!);
        if (scopeProblem is not null)
            return scopeProblem;
        var result = (await client.SubmitManyAsync([scoped!], http.RequestAborted))[0];
        return result.Outcome == SubmitOutcome.Accepted
            ? TypedResults.Created($"{RestApiExtensions.Prefix}/jobs/{result.Id}", result)
            : TypedResults.Ok(result);
    }

    private static async Task<IResult> SubmitBatch(HttpContext http, ISchedulerClient client, IOptions<RestApiOptions> options)
    {
        var (batch, problem) = await ApiJson.ReadAsync<BatchBody>(http.Request);
        if (problem is not null)
            return problem;
        if (batch!.Jobs.Count == 0)
            return Problems.BadRequest("give at least one job");
        if (batch.Jobs.Count > options.Value.MaxBatchSize)
            return Problems.BadRequest($"{batch.Jobs.Count} jobs in one batch; the limit is {options.Value.MaxBatchSize}");
        var caller = Caller.Of(http);
        var requests = new JobRequest[batch.Jobs.Count];
        for (var i = 0; i < requests.Length; i++)
        {
            if (batch.Jobs[i] is null)
                return Problems.BadRequest($"job #{i} is null");
            var (scoped, scopeProblem) = Scope(caller, batch.Jobs[i]);
            if (scopeProblem is not null)
                return scopeProblem;
            requests[i] = scoped!;
        }
        return TypedResults.Ok(await client.SubmitManyAsync(requests, http.RequestAborted));
    }

    private static (JobRequest? Request, IResult? Problem) Scope(Caller caller, JobRequest request)
    {
        var (tenant, problem) = ScopeTenant(caller, request.Tenant);
        return problem is not null ? (null, problem) : (tenant == request.Tenant ? request : request with { Tenant = tenant! }, null);
    }

    private static async Task<IResult> List(HttpContext http, ISchedulerClient client,
        string? state, string? queue, string? tenant, string? handler, int? limit, string? cursor,
        string? createdAfter, string? createdBefore, string? id, string? q)
    {
        if (!TryParseEnum<JobState>(state, out var parsedState, out var stateProblem))
            return Problems.BadRequest(stateProblem!);
        if (!TryParseTime("createdAfter", createdAfter, out var from, out var timeProblem)
            || !TryParseTime("createdBefore", createdBefore, out var to, out timeProblem))
            return Problems.BadRequest(timeProblem!);
        var after = DecodeCursor(cursor, out var cursorProblem);
        if (cursorProblem is not null)
            return Problems.BadRequest(cursorProblem);
        foreach (var (name, value) in new[] { ("queue", queue), ("tenant", tenant), ("handler", handler) })
        {
            if (value is not null && !RequestValidation.IsName(value))
                return Problems.BadRequest($"{name} '{value}' is not a valid name ({RequestValidation.NameRule})");
        }
        var caller = Caller.Of(http);
        if (caller.Tenant is not null)
        {
            // Another tenant's jobs do not exist for this caller: an empty page.
            if (tenant is not null && tenant != caller.Tenant)
                return TypedResults.Ok(new Page<JobSummary>([], null));
            tenant = caller.Tenant;
        }
        var filter = new JobFilter
        {
            State = parsedState, Queue = queue, Tenant = tenant, Handler = handler, Limit = limit ?? 100, After = after,
            CreatedAfter = from, CreatedBefore = to, IdPrefix = string.IsNullOrWhiteSpace(id) ? null : id.Trim(),
            Text = string.IsNullOrWhiteSpace(q) ? null : q.Trim(),
        };
        if (filter.Problem() is { } filterProblem)
            return Problems.BadRequest(filterProblem);
        var rows = await client.ListAsync(filter, http.RequestAborted);
        return TypedResults.Ok(new Page<JobSummary>(rows, rows.Count == filter.Limit && rows.Count > 0 ? EncodeCursor(rows[^1]) : null));
    }

    /// <summary>The job when it exists and the caller may see it; else null (another tenant's job is not found).</summary>
    internal static async Task<JobStatus?> VisibleAsync(HttpContext http, ISchedulerClient client, Guid id)
    {
        var status = await client.GetStatusAsync(new JobId(id), http.RequestAborted);
        return status is not null && Caller.Of(http).Sees(status.Tenant) ? status : null;
    }

    private static IResult JobNotFound(Guid id) => Problems.NotFound($"no job {id}");

    private static async Task<IResult> Get(HttpContext http, ISchedulerClient client, Guid id) =>
        await VisibleAsync(http, client, id) is { } status ? TypedResults.Ok(status) : JobNotFound(id);

    private static async Task<IResult> Wait(HttpContext http, ISchedulerClient client, Guid id, double? timeout)
    {
        if (!Problems.TryWait(timeout, out var wait, out var problem))
            return problem!;
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        var status = await client.WaitForFinalAsync(new JobId(id), wait, http.RequestAborted);
        return status is null ? JobNotFound(id) : TypedResults.Ok(status);
    }

    private static async Task<IResult> Cancel(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ReadOptionalAsync<CancelBody>(http.Request);
        if (problem is not null)
            return problem;
        if (body!.Reason is { Length: > 2000 })
            return Problems.BadRequest("reason is longer than 2000 characters");
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        var outcome = await client.CancelAsync(new JobId(id), body.Reason, http.RequestAborted);
        await AuditAsync(http, "job.cancel", id.ToString(), outcome.ToString());
        return outcome switch
        {
            CancelOutcome.Cancelled => TypedResults.Ok(new { outcome }),
            CancelOutcome.Requested => TypedResults.Accepted((string?)null, new { outcome }),
            CancelOutcome.AlreadyFinal => Problems.Conflict($"job {id} has already ended"),
            _ => JobNotFound(id),
        };
    }

    private static async Task<IResult> Reschedule(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ApiJson.ReadAsync<RescheduleBody>(http.Request);
        if (problem is not null)
            return problem;
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        var outcome = await client.RescheduleAsync(new JobId(id), body!.NotBefore, http.RequestAborted);
        await AuditAsync(http, "job.reschedule", id.ToString(), $"{outcome} notBefore={body.NotBefore:O}");
        return outcome switch
        {
            RescheduleOutcome.Rescheduled => TypedResults.Ok(new { outcome }),
            RescheduleOutcome.Running => Problems.Conflict($"job {id} is running: only a queued job can be rescheduled"),
            RescheduleOutcome.AlreadyFinal => Problems.Conflict($"job {id} has already ended"),
            _ => JobNotFound(id),
        };
    }

    private static async Task<IResult> ChangePriority(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ApiJson.ReadAsync<PriorityBody>(http.Request);
        if (problem is not null)
            return problem;
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        // Out of range, running or ended: the SDK's SchedulerException, answered as 400 or 409 by the exception handler.
        await client.ChangePriorityAsync(new JobId(id), body!.Priority, http.RequestAborted);
        await AuditAsync(http, "job.priority", id.ToString(), $"priority={body.Priority}");
        return TypedResults.Ok(new { priority = body.Priority });
    }

    private static async Task<IResult> Requeue(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ReadOptionalAsync<RequeueBody>(http.Request);
        if (problem is not null)
            return problem;
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        var result = (await client.RequeueAsync([new JobId(id)], body!.Attempts, http.RequestAborted))[0];
        await AuditAsync(http, "job.requeue", id.ToString(), result.Outcome.ToString());
        return result.Outcome switch
        {
            RequeueOutcome.Requeued => TypedResults.Ok(result),
            RequeueOutcome.NotDeadLettered => Problems.Conflict($"job {id} is not dead-lettered (Failed): only a failed job can be requeued"),
            _ => JobNotFound(id),
        };
    }

    private static async Task<IResult> History(HttpContext http, ISchedulerClient client, Guid id) =>
        await VisibleAsync(http, client, id) is null
            ? JobNotFound(id)
            : TypedResults.Ok(await client.GetHistoryAsync(new JobId(id), http.RequestAborted));

    private static async Task<IResult> Logs(HttpContext http, ISchedulerClient client, Guid id, long? after, int? max)
    {
        if (after is < 0)
            return Problems.BadRequest($"after {after} must not be negative");
        if (max is < 1 or > 10_000)
            return Problems.BadRequest($"max {max} is out of range: use 1 to 10000");
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        var lines = await client.GetLogAsync(new JobId(id), after ?? 0, max ?? LogPage, http.RequestAborted);
        return TypedResults.Ok(new { lines, next = lines.Count > 0 ? lines[^1].Sequence : after ?? 0 });
    }

    private static async Task<IResult> Tail(HttpContext http, ISchedulerClient client, Guid id, long? after)
    {
        if (after is < 0)
            return Problems.BadRequest($"after {after} must not be negative");
        // A reconnecting EventSource says where it stopped.
        if (long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out var lastEvent) && lastEvent >= 0)
            after = lastEvent;
        if (await VisibleAsync(http, client, id) is null)
            return JobNotFound(id);
        return TypedResults.ServerSentEvents(TailAsync(client, new JobId(id), after ?? 0, http.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<object>> TailAsync(ISchedulerClient client, JobId id, long after,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (line, end) in FollowLogAsync(client, id, after, cancellationToken))
        {
            yield return line is not null
                ? new SseItem<object>(line, "log") { EventId = line.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) }
                : new SseItem<object>(end!, "end");
        }
    }

    /// <summary>
    /// A job's log lines after <paramref name="after"/> as they are written, then its final status (Line null): the
    /// tail both the SSE stream and the gRPC log stream send. Ends without a status when the job is gone.
    /// </summary>
    internal static async IAsyncEnumerable<(JobLogLine? Line, JobStatus? End)> FollowLogAsync(ISchedulerClient client, JobId id, long after,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        JobStatus? ended = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var lines = await client.GetLogAsync(id, after, LogPage, cancellationToken);
            foreach (var line in lines)
            {
                after = line.Sequence;
                yield return (line, null);
            }
            if (lines.Count == LogPage)
                continue;
            if (ended is not null)
            {
                yield return (null, ended);
                yield break;
            }
            // Waits on the job grain's long poll (no busy loop): back within a second, at once when the job ends.
            var status = await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(1), cancellationToken);
            if (status is null)
                yield break;
            if (status.State.IsFinal())
                ended = status; // one more read for the lines written just before the end
        }
    }
}
