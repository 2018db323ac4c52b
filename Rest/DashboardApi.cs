using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Scheduler.Client;

namespace Scheduler.Rest;

/// <summary>
/// The web dashboard (Dashboard/, built by npm into this assembly's resources): its files at / and what it asks of
/// the API beyond the SDK's endpoints. The files are open to anyone since they hold no data; every page reads the API
/// with the browser's credentials (loopback, or an API key it sends as X-Api-Key), so the API's roles still decide.
/// </summary>
internal static class DashboardApi
{
    /// <summary>Prefix of the dashboard files' resource names (see Rest/Dashboard.targets).</summary>
    private const string ResourcePrefix = "SchedulerDashboard";

    /// <summary>Serves index.html at / and the hashed bundles under /assets; other paths fall through to the endpoints.</summary>
    public static IApplicationBuilder UseSchedulerDashboard(this IApplicationBuilder app)
    {
        if (!app.ApplicationServices.GetRequiredService<IOptions<RestApiOptions>>().Value.Dashboard)
            return app;
        var files = new EmbeddedFileProvider(typeof(DashboardApi).Assembly, ResourcePrefix);
        if (!files.GetFileInfo("index.html").Exists)
            return app; // built with -p:DashboardBuild=false
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            // Bundles carry their content hash in the name; the page itself must be checked on every load.
            OnPrepareResponse = context => context.Context.Response.Headers[HeaderNames.CacheControl] =
                context.File.Name.EndsWith(".html", StringComparison.Ordinal) ? "no-cache" : "public, max-age=31536000, immutable",
        });
        return app;
    }

    public static RouteGroupBuilder MapDashboardApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", (HttpContext http) =>
            {
                var caller = Caller.Of(http);
                return TypedResults.Ok(new CallerInfo(caller.Role, caller.Tenant, caller.Actor));
            })
            .RequireAuthorization(RestApiExtensions.Policy(ApiRole.Viewer)).WithTags("Admin")
            .WithSummary("Who the caller is: role, tenant scope and the name the audit log records (the dashboard shows its controls by it)");
        api.MapGet("/silos", async (ISchedulerClient client, CancellationToken ct) => TypedResults.Ok(await client.ListSilosAsync(ct)))
            .RequireAuthorization(RestApiExtensions.ClusterPolicy(ApiRole.Viewer)).WithTags("Stats")
            .WithSummary("Every active silo with its job slots and how many are busy");
        return api;
    }
}

/// <summary>The caller as the API sees it.</summary>
/// <param name="Role">Its role.</param>
/// <param name="Tenant">The tenant it is scoped to; null: every tenant.</param>
/// <param name="Actor">The name the audit log records.</param>
public sealed record CallerInfo(ApiRole Role, string? Tenant, string Actor);
