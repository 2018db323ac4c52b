using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scheduler.Client;
using static Scheduler.Rest.Endpoints;

namespace Scheduler.Rest;

/// <summary>/webhooks/deliveries: the delivery records of webhook calls (docs/webhooks.md); filtered to a tenant-scoped caller's tenant.</summary>
internal static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooksApi(this RouteGroupBuilder api)
    {
        var deliveries = api.MapGroup("/webhooks/deliveries").WithTags("Webhooks");
        var viewer = RestApiExtensions.Policy(ApiRole.Viewer);
        deliveries.MapGet("", async (HttpContext http, ISchedulerClient client, string? state, Guid? subject, string? tenant, DateTimeOffset? before, int? limit) =>
        {
            if (!TryParseEnum<WebhookDeliveryState>(state, out var parsedState, out var stateProblem))
                return Problems.BadRequest(stateProblem!);
            if (limit is < 1 or > 1000)
                return Problems.BadRequest($"limit {limit} is out of range: use 1 to 1000");
            if (tenant is not null && !RequestValidation.IsName(tenant))
                return Problems.BadRequest($"tenant '{tenant}' is not a valid name ({RequestValidation.NameRule})");
            var caller = Caller.Of(http);
            if (caller.Tenant is not null)
            {
                if (tenant is not null && tenant != caller.Tenant)
                    return TypedResults.Ok(new Page<WebhookDelivery>([], null));
                tenant = caller.Tenant;
            }
            var filter = new WebhookDeliveryFilter { State = parsedState, SubjectId = subject, Tenant = tenant, Before = before, Limit = limit ?? 100 };
            var rows = await client.ListWebhookDeliveriesAsync(filter, http.RequestAborted);
            return TypedResults.Ok(new Page<WebhookDelivery>(rows, rows.Count == filter.Limit && rows.Count > 0 ? rows[^1].CreatedAt.ToString("O") : null));
        }).RequireAuthorization(viewer).WithSummary("Webhook deliveries, newest first; pass nextCursor as before");
        deliveries.MapGet("/{id}", async (HttpContext http, ISchedulerClient client, string id) =>
        {
            if (id.Length > 100)
                return Problems.BadRequest("a delivery id has at most 100 characters");
            var delivery = await client.GetWebhookDeliveryAsync(id, http.RequestAborted);
            return delivery is not null && Caller.Of(http).Sees(delivery.Tenant)
                ? TypedResults.Ok(delivery)
                : Problems.NotFound($"no webhook delivery '{id}'");
        }).RequireAuthorization(viewer).WithSummary("One webhook delivery: state, attempts, last answer");
        return api;
    }
}
