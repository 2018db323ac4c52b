using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scheduler.Client;
using static Scheduler.Rest.Endpoints;

namespace Scheduler.Rest;

/// <summary>
/// /gates and /breakers (docs/protection.md): pause, resume and drop what waits behind a gate; read and reset circuit
/// breakers. Both act across tenants (a gate on a handler or queue holds every tenant's jobs), so a tenant-scoped
/// caller is refused them (403).
/// </summary>
internal static class ProtectionApi
{
    public static RouteGroupBuilder MapProtectionApi(this RouteGroupBuilder api)
    {
        var viewer = RestApiExtensions.ClusterPolicy(ApiRole.Viewer);
        var operatorRole = RestApiExtensions.ClusterPolicy(ApiRole.Operator);

        var gates = api.MapGroup("/gates").WithTags("Gates");
        gates.MapGet("", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.ListGatesAsync(ct)))
            .RequireAuthorization(viewer).WithSummary("Gates that are paused or hold jobs");
        gates.MapPost("/{target}/pause", async (HttpContext http, ISchedulerClient client, string target) =>
        {
            var (body, problem) = await ReadOptionalAsync<CancelBody>(http.Request);
            if (problem is not null)
                return problem;
            var status = await client.PauseGateAsync(target, body!.Reason, http.RequestAborted);
            await AuditAsync(http, "gate.pause", target, body.Reason);
            return TypedResults.Ok(status);
        }).RequireAuthorization(operatorRole).Accepts<CancelBody>("application/json")
            .WithSummary("Pause a gate (handler:NAME, queue:NAME, tenant:NAME or workflow:ID): its jobs wait until it is resumed");
        gates.MapPost("/{target}/resume", async (HttpContext http, ISchedulerClient client, string target) =>
        {
            var status = await client.ResumeGateAsync(target, http.RequestAborted);
            await AuditAsync(http, "gate.resume", target);
            return TypedResults.Ok(status);
        }).RequireAuthorization(operatorRole).WithSummary("Resume a paused gate: the jobs it held go back to their queues");
        gates.MapPost("/{target}/drop", async (HttpContext http, ISchedulerClient client, string target) =>
        {
            var (body, problem) = await ReadOptionalAsync<CancelBody>(http.Request);
            if (problem is not null)
                return problem;
            var dropped = await client.DropGateAsync(target, body!.Reason, http.RequestAborted);
            await AuditAsync(http, "gate.drop", target, $"{dropped} cancelled{(body.Reason is null ? "" : ": " + body.Reason)}");
            return TypedResults.Ok(new { dropped });
        }).RequireAuthorization(operatorRole).Accepts<CancelBody>("application/json")
            .WithSummary("Cancel every job a paused gate holds");

        var breakers = api.MapGroup("/breakers").WithTags("Breakers");
        breakers.MapGet("", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.ListBreakersAsync(ct)))
            .RequireAuthorization(viewer).WithSummary("Configured circuit breakers and their states");
        breakers.MapGet("/{target}", async (ISchedulerClient client, string target, CancellationToken ct) =>
            TypedResults.Ok(await client.GetBreakerAsync(target, ct))).RequireAuthorization(viewer)
            .WithSummary("A circuit breaker (handler:NAME or key:KEY)");
        breakers.MapPost("/{target}/reset", async (HttpContext http, ISchedulerClient client, string target) =>
        {
            var status = await client.ResetBreakerAsync(target, http.RequestAborted);
            await AuditAsync(http, "breaker.reset", target);
            return TypedResults.Ok(status);
        }).RequireAuthorization(operatorRole).WithSummary("Close a circuit breaker now");
        return api;
    }
}
