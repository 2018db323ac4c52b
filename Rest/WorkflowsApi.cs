using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scheduler.Client;
using static Scheduler.Rest.Endpoints;

namespace Scheduler.Rest;

/// <summary>/workflows: submit, list, get, wait, cancel, pause, resume, rerun failed, reschedule, add jobs.</summary>
internal static class WorkflowsApi
{
    public static RouteGroupBuilder MapWorkflowsApi(this RouteGroupBuilder api)
    {
        var workflows = api.MapGroup("/workflows").WithTags("Workflows");
        var viewer = RestApiExtensions.Policy(ApiRole.Viewer);
        var operatorRole = RestApiExtensions.Policy(ApiRole.Operator);

        workflows.MapPost("", Submit).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Submitter))
            .Accepts<WorkflowDefinition>("application/json").Produces<WorkflowSubmitResult>(StatusCodes.Status201Created)
            .WithSummary("Submit a workflow (a graph of jobs)");
        workflows.MapGet("", List).RequireAuthorization(viewer).Produces<Page<WorkflowSummary>>()
            .WithSummary("List workflows, newest first, a page at a time; filters: state, tenant, name (contains)");
        workflows.MapGet("/{id:guid}", Get).RequireAuthorization(viewer).Produces<WorkflowStatus>().WithSummary("A workflow's status");
        workflows.MapGet("/{id:guid}/wait", Wait).RequireAuthorization(viewer)
            .WithSummary("Long poll: answers once the workflow is final or the timeout (seconds, at most 300) passes");
        workflows.MapPost("/{id:guid}/cancel", Cancel).RequireAuthorization(operatorRole).Accepts<CancelBody>("application/json");
        workflows.MapPost("/{id:guid}/pause", (HttpContext http, ISchedulerClient client, Guid id) =>
            Control(http, client, id, "workflow.pause", async w => new { state = await client.PauseWorkflowAsync(w, http.RequestAborted) }))
            .RequireAuthorization(operatorRole);
        workflows.MapPost("/{id:guid}/resume", (HttpContext http, ISchedulerClient client, Guid id) =>
            Control(http, client, id, "workflow.resume", async w => new { state = await client.ResumeWorkflowAsync(w, http.RequestAborted) }))
            .RequireAuthorization(operatorRole);
        workflows.MapPost("/{id:guid}/rerun-failed", (HttpContext http, ISchedulerClient client, Guid id) =>
            Control(http, client, id, "workflow.rerun", async w => new { rerun = await client.RerunFailedAsync(w, http.RequestAborted) }))
            .RequireAuthorization(operatorRole);
        workflows.MapPost("/{id:guid}/reschedule", Reschedule).RequireAuthorization(operatorRole).Accepts<RescheduleBody>("application/json");
        workflows.MapPost("/{id:guid}/priority", ChangePriority).RequireAuthorization(operatorRole).Accepts<PriorityBody>("application/json")
            .WithSummary("Change the priority of a workflow and of its waiting jobs");
        workflows.MapPost("/{id:guid}/jobs", AddJobs).RequireAuthorization(operatorRole).Accepts<AddJobsBody>("application/json")
            .WithSummary("Add jobs to a workflow, all or none");
        return api;
    }

    private static async Task<IResult> Submit(HttpContext http, ISchedulerClient client)
    {
        var (definition, problem) = await ApiJson.ReadAsync<WorkflowDefinition>(http.Request);
        if (problem is not null)
            return problem;
        var (tenant, scopeProblem) = ScopeTenant(Caller.Of(http), definition!.Tenant);
        if (scopeProblem is not null)
            return scopeProblem;
        var result = await client.SubmitWorkflowAsync(definition with { Tenant = tenant! }, http.RequestAborted);
        return result.Outcome == SubmitOutcome.Accepted
            ? TypedResults.Created($"{RestApiExtensions.Prefix}/workflows/{result.Id}", result)
            : TypedResults.Ok(result);
    }

    private static async Task<IResult> List(HttpContext http, ISchedulerClient client, string? state, string? tenant, string? name, int? limit, string? cursor)
    {
        if (!TryParseEnum<WorkflowState>(state, out var parsedState, out var stateProblem))
            return Problems.BadRequest(stateProblem!);
        WorkflowId? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!Guid.TryParse(cursor, out var position))
                return Problems.BadRequest($"cursor '{cursor}' is not one this API gave out");
            after = new WorkflowId(position);
        }
        var caller = Caller.Of(http);
        if (caller.Tenant is not null)
        {
            // Another tenant's workflows do not exist for this caller: an empty page.
            if (tenant is not null && tenant != caller.Tenant)
                return TypedResults.Ok(new Page<WorkflowSummary>([], null));
            tenant = caller.Tenant;
        }
        var filter = new WorkflowFilter { State = parsedState, Tenant = tenant, Name = string.IsNullOrEmpty(name) ? null : name, Limit = limit ?? 50, After = after };
        if (filter.Problem() is { } problem)
            return Problems.BadRequest(problem);
        var page = await client.ListWorkflowsAsync(filter, http.RequestAborted);
        return TypedResults.Ok(new Page<WorkflowSummary>(page.Items, page.Next?.ToString()));
    }

    private static async Task<WorkflowStatus?> VisibleAsync(HttpContext http, ISchedulerClient client, Guid id)
    {
        var status = await client.GetWorkflowAsync(new WorkflowId(id), http.RequestAborted);
        return status is not null && Caller.Of(http).Sees(status.Tenant) ? status : null;
    }

    private static IResult NotFound(Guid id) => Problems.NotFound($"no workflow {id}");

    private static async Task<IResult> Get(HttpContext http, ISchedulerClient client, Guid id) =>
        await VisibleAsync(http, client, id) is { } status ? TypedResults.Ok(status) : NotFound(id);

    private static async Task<IResult> Wait(HttpContext http, ISchedulerClient client, Guid id, double? timeout)
    {
        if (!Problems.TryWait(timeout, out var wait, out var problem))
            return problem!;
        if (await VisibleAsync(http, client, id) is null)
            return NotFound(id);
        var status = await client.WaitForWorkflowAsync(new WorkflowId(id), wait, http.RequestAborted);
        return status is null ? NotFound(id) : TypedResults.Ok(status);
    }

    private static async Task<IResult> Control<T>(HttpContext http, ISchedulerClient client, Guid id, string action, Func<WorkflowId, Task<T>> act)
    {
        if (await VisibleAsync(http, client, id) is null)
            return NotFound(id);
        var result = await act(new WorkflowId(id));
        await AuditAsync(http, action, id.ToString(), System.Text.Json.JsonSerializer.Serialize(result, ApiJson.Options));
        return TypedResults.Ok(result);
    }

    private static async Task<IResult> Cancel(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ReadOptionalAsync<CancelBody>(http.Request);
        if (problem is not null)
            return problem;
        if (body!.Reason is { Length: > 2000 })
            return Problems.BadRequest("reason is longer than 2000 characters");
        return await Control(http, client, id, "workflow.cancel", async w => new { state = await client.CancelWorkflowAsync(w, body.Reason, http.RequestAborted) });
    }

    private static async Task<IResult> Reschedule(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ApiJson.ReadAsync<RescheduleBody>(http.Request);
        if (problem is not null)
            return problem;
        if (RequestValidation.NotBeforeProblem(body!.NotBefore) is { } notBeforeProblem)
            return Problems.BadRequest(notBeforeProblem);
        return await Control(http, client, id, "workflow.reschedule", async w => new { moved = await client.RescheduleWorkflowAsync(w, body.NotBefore, http.RequestAborted) });
    }

    private static async Task<IResult> ChangePriority(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ApiJson.ReadAsync<PriorityBody>(http.Request);
        if (problem is not null)
            return problem;
        return await Control(http, client, id, "workflow.priority", async w => new { changed = await client.ChangeWorkflowPriorityAsync(w, body!.Priority, http.RequestAborted) });
    }

    private static async Task<IResult> AddJobs(HttpContext http, ISchedulerClient client, Guid id)
    {
        var (body, problem) = await ApiJson.ReadAsync<AddJobsBody>(http.Request);
        if (problem is not null)
            return problem;
        if (body!.Jobs.Count == 0 || body.Jobs.Any(j => j is null))
            return Problems.BadRequest("give at least one job, none of them null");
        return await Control(http, client, id, "workflow.add", async w => new { state = await client.AddToWorkflowAsync(w, body.Jobs, http.RequestAborted) });
    }
}

/// <summary>Jobs to add to a workflow.</summary>
public sealed class AddJobsBody
{
    /// <summary>The jobs, with their dependencies.</summary>
    public required List<WorkflowJob> Jobs { get; init; }
}
