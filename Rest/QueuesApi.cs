using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Scheduler.Client;

namespace Scheduler.Rest;

/// <summary>/queues: depth by priority and fair share per tenant, from the queue shards (docs/queues.md). Spans tenants, so a tenant-scoped caller is refused (403).</summary>
internal static class QueuesApi
{
    public static RouteGroupBuilder MapQueuesApi(this RouteGroupBuilder api)
    {
        api.MapGet("/queues", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.GetQueuesAsync(ct)))
            .RequireAuthorization(RestApiExtensions.ClusterPolicy(ApiRole.Viewer)).WithTags("Stats")
            .WithSummary("Each queue's waiting and running jobs by priority and by tenant, with tenant weights and shares");
        return api;
    }
}
