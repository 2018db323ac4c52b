using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Scheduler.Client;
using Scheduler.Rest.Grpc;

namespace Scheduler.Rest;

/// <summary>
/// Adds the REST API to a web application: the silo's (<c>MapScheduler</c>) or the API process's, which reaches the
/// cluster as an Orleans client. Either way every call goes through the SDK (<see cref="ISchedulerClient"/>), so the
/// REST API validates and submits exactly as the SDK does.
/// </summary>
public static class RestApiExtensions
{
    /// <summary>Route prefix of every endpoint.</summary>
    public const string Prefix = "/api/v1";

    /// <summary>The default scheme: picks JWT bearer for a bearer token that is not an API key (when JWTs are on), else API keys.</summary>
    private const string SelectorScheme = "Scheduler";

    /// <summary>Name of the OpenAPI document (served at /openapi/scheduler.json).</summary>
    public const string DocumentName = "scheduler";

    /// <summary>
    /// Registers the API's services: authentication (API keys; loopback per <see cref="RestApiOptions.TrustLoopback"/>),
    /// role policies, problem details, JSON and the OpenAPI document. Needs an <see cref="IClusterClient"/> (a silo has
    /// one; elsewhere call <c>AddSchedulerClient</c>). Idempotent.
    /// </summary>
    public static IServiceCollection AddSchedulerRestApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(RestApiMarker)))
            return services;
        services.AddSingleton<RestApiMarker>();

        var options = new RestApiOptions();
        configuration.GetSection(RestApiOptions.SectionName).Bind(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
            throw new OptionsValidationException(RestApiOptions.SectionName, typeof(RestApiOptions), problems);
        services.AddSingleton(Options.Create(options));

        services.TryAddSingleton<ISchedulerClient>(sp => SchedulerClientFactory.Create(sp.GetRequiredService<IClusterClient>()));
        services.AddMemoryCache();
        services.AddProblemDetails();
        services.AddExceptionHandler<SchedulerExceptionHandler>();
        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        var authentication = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, null, o => o.ForwardDefaultSelector = context =>
                options.Jwt.Authority is not null && JwtAuthentication.IsJwt(context.Request)
                    ? JwtAuthentication.SchemeName
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (options.Jwt.Authority is not null)
            authentication.AddJwtBearer(JwtAuthentication.SchemeName, o => JwtAuthentication.Configure(o, options.Jwt));
        services.AddAuthorization(o =>
        {
            foreach (var role in Enum.GetValues<ApiRole>())
            {
                o.AddPolicy(Policy(role), p => p.RequireAuthenticatedUser().RequireAssertion(c => Caller.RoleOf(c.User) >= role));
                o.AddPolicy(ClusterPolicy(role), p => p.RequireAuthenticatedUser()
                    .RequireAssertion(c => Caller.RoleOf(c.User) >= role && !c.User.HasClaim(h => h.Type == Caller.TenantClaim)));
            }
        });
        services.AddOpenApi(DocumentName, o => OpenApiSetup.Configure(o));
        services.AddSchedulerGrpc(options);
        return services;
    }

    /// <summary>The authorization policy requiring <paramref name="role"/> or a higher one.</summary>
    public static string Policy(ApiRole role) => "scheduler:" + role.ToString().ToLowerInvariant();

    /// <summary>
    /// The policy requiring <paramref name="role"/> or higher and no tenant scope: for what spans tenants (schedules,
    /// limits, stats).
    /// </summary>
    public static string ClusterPolicy(ApiRole role) => Policy(role) + ":cluster";

    /// <summary>
    /// Adds the API's middleware: problem details for exceptions and for bare error statuses (401, 403, 404, 405...),
    /// the web dashboard's files at / (unless turned off), then authentication and authorization. Call before mapping endpoints.
    /// </summary>
    public static IApplicationBuilder UseSchedulerRestApi(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSchedulerDashboard();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Maps every endpoint under <see cref="Prefix"/>, the OpenAPI document, the interactive docs (/docs) and the gRPC
    /// service scheduler.v1.Jobs (docs/grpc.md).
    /// </summary>
    public static IEndpointRouteBuilder MapSchedulerRestApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<RestApiOptions>>().Value;
        var api = endpoints.MapGroup(Prefix)
            .WithMetadata(new RequestSizeLimitAttribute(options.MaxRequestBodyBytes))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            // The endpoints audit their control actions themselves, naming the authenticated caller: not the SDK as well.
            .AddEndpointFilter(async (context, next) =>
            {
                using (ClientAudit.CallerAudits())
                    return await next(context);
            });
        api.MapJobsApi();
        api.MapWorkflowsApi();
        api.MapSchedulesApi();
        api.MapLimitsApi();
        api.MapDeadLettersApi();
        api.MapProtectionApi();
        api.MapWebhooksApi();
        api.MapAdminApi();
        api.MapQueuesApi();
        endpoints.MapSchedulerGrpc(options);
        api.MapDashboardApi();

        var openApi = endpoints.MapOpenApi("/openapi/{documentName}.json");
        var docs = endpoints.MapScalarApiReference("/docs", o => o.WithTitle("Scheduler REST API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        if (!options.PublicDocs)
        {
            openApi.RequireAuthorization(Policy(ApiRole.Viewer));
            docs.RequireAuthorization(Policy(ApiRole.Viewer));
        }
        return endpoints;
    }

    private sealed class RestApiMarker;
}
