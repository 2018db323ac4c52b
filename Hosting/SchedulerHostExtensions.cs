using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Scheduler.Execution;
using Scheduler.Rest;

namespace Scheduler.Hosting;

/// <summary>The ready-made host: a web application configured from section "Scheduler", as <c>Silo/Program.cs</c> runs it.</summary>
public static class SchedulerHostExtensions
{
    /// <summary>
    /// Makes this web application a Scheduler silo, configured from the "Scheduler" section: a single silo on
    /// loopback with durable embedded storage unless configured otherwise. Throws at start with the setting's
    /// name when the configuration is invalid.
    /// </summary>
    public static WebApplicationBuilder AddScheduler(this WebApplicationBuilder builder, Action<ISiloBuilder>? configureSilo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var section = builder.Configuration.GetSection(SchedulerOptions.SectionName);
        var hosting = new SchedulerHostingOptions();
        section.Bind(hosting);
        var runtime = new SchedulerOptions();
        BindRuntime(section, runtime);
        var command = new CommandHandlerOptions();
        builder.Configuration.GetSection(CommandHandlerOptions.SectionName).Bind(command);
        var problems = hosting.Validate().Concat(runtime.Validate()).Concat(command.Validate()).ToList();
        if (problems.Count > 0)
            throw new OptionsValidationException("Scheduler", typeof(SchedulerHostingOptions), problems);

        builder.Services.AddSingleton(Options.Create(hosting));
        builder.Services.Configure<SchedulerStartupOptions>(o => o.Timeout = hosting.StartupTimeout);
        builder.Services.AddSchedulerHealthChecks(builder.Configuration.GetSection(JobHandlerOptions.SectionPrefix));
        builder.Services.AddSchedulerTelemetry(runtime.Telemetry);
        builder.Services.AddSchedulerRestApi(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            if (string.IsNullOrWhiteSpace(hosting.RedisConnectionString))
            {
                silo.UseLocalhostClustering(hosting.SiloPort, hosting.GatewayPort, serviceId: hosting.ServiceId, clusterId: hosting.ClusterId);
            }
            else
            {
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = hosting.ClusterId;
                    o.ServiceId = hosting.ServiceId;
                });
                if (hosting.Kubernetes)
                {
                    // The pod's IP is advertised and every address listened on by Orleans' Kubernetes hosting.
                    silo.Configure<EndpointOptions>(o =>
                    {
                        o.SiloPort = hosting.SiloPort;
                        o.GatewayPort = hosting.GatewayPort;
                    });
                    silo.UseKubernetesHosting();
                }
                else
                {
                    silo.ConfigureEndpoints(System.Net.IPAddress.Parse(hosting.AdvertisedAddress), hosting.SiloPort, hosting.GatewayPort,
                        listenOnAnyHostAddress: hosting.ListenOnAnyAddress);
                }
                silo.UseRedisClustering(hosting.RedisConnectionString);
                silo.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = hosting.ProbeTimeout);
                // Waits (with backoff, up to StartupTimeout) for Redis before Orleans' membership first uses it.
                var redis = hosting.RedisConnectionString;
                silo.Services.AddStartupDeadline();
                silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => new RedisStartupCheck(
                    redis, sp.GetRequiredService<StartupDeadline>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RedisStartupCheck>>()));
            }
            silo.AddScheduler(o => BindRuntime(section, o));
            silo.Services.Configure<CommandHandlerOptions>(builder.Configuration.GetSection(CommandHandlerOptions.SectionName));
            silo.Services.AddSingleton<IPostConfigureOptions<JobHandlerOptions>>(
                new JobHandlerConfiguration(builder.Configuration.GetSection(JobHandlerOptions.SectionPrefix)));
            switch (hosting.Storage)
            {
                case StorageMode.Memory:
                    silo.UseInMemorySchedulerStorage();
                    break;
                case StorageMode.Postgres:
                    silo.UsePostgresSchedulerStorage(hosting.PostgresConnectionString!, hosting.ServiceId);
                    break;
                default:
                    silo.UseEmbeddedSchedulerStorage(hosting.DataDirectory, hosting.ServiceId);
                    break;
            }
            if (hosting.Dashboard)
                silo.AddDashboard();
            configureSilo?.Invoke(silo);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = runtime.ShutdownGracePeriod + TimeSpan.FromSeconds(20));
        return builder;
    }

    /// <summary>
    /// Binds <see cref="SchedulerOptions"/> from <paramref name="section"/>. The configuration binder appends list
    /// items to a list that already has values; a configured Queues list replaces the default ["default"] instead.
    /// </summary>
    private static void BindRuntime(IConfigurationSection section, SchedulerOptions options)
    {
        section.Bind(options);
        var queues = section.GetSection(nameof(SchedulerOptions.Queues));
        if (queues.GetChildren().Any())
            options.Queues = queues.Get<List<string>>() ?? [];
    }

    /// <summary>The start-up deadline shared by the waits for PostgreSQL and Redis (idempotent).</summary>
    internal static IServiceCollection AddStartupDeadline(this IServiceCollection services)
    {
        services.AddOptions<SchedulerStartupOptions>();
        services.TryAddSingleton(sp => new StartupDeadline(
            sp.GetRequiredService<IOptions<SchedulerStartupOptions>>(), sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Maps the health endpoints (/health: this silo takes work; /health/live: the process answers; /health/ready:
    /// it takes work, storage answers, it is an active cluster member, its handlers are registered; all open to all),
    /// the Prometheus scrape endpoint when enabled (default /metrics), the REST API under /api/v1 with its OpenAPI
    /// document and docs (docs/rest-api.md), and, when enabled, the dashboard at /dashboard (viewer role, like the API).
    /// </summary>
    public static WebApplication MapScheduler(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseSchedulerRestApi();
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            Predicate = check => check.Name == SchedulerHealthChecks.Pool,
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "text/plain";
                var entry = report.Entries.Values.FirstOrDefault();
                await context.Response.WriteAsync($"{report.Status}: {entry.Description}\n");
            },
        });
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, report) => WriteReportAsync(context, report),
        });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(SchedulerHealthChecks.Ready),
            ResponseWriter = (context, report) => WriteReportAsync(context, report),
        });
        var telemetry = app.Services.GetRequiredService<IOptions<SchedulerOptions>>().Value.Telemetry;
        if (telemetry.Prometheus)
            app.MapPrometheusScrapingEndpoint(telemetry.PrometheusPath).RequireAuthorization(RestApiExtensions.Policy(ApiRole.Viewer));
        if (app.Services.GetRequiredService<IOptions<SchedulerHostingOptions>>().Value.Dashboard)
            app.MapOrleansDashboard(routePrefix: "/dashboard").RequireAuthorization(RestApiExtensions.Policy(ApiRole.Viewer));
        app.MapSchedulerRestApi();
        return app;
    }

    /// <summary>The overall status, then one line per check: "storage: Unhealthy: unreachable: …".</summary>
    private static async Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain";
        var text = new System.Text.StringBuilder().Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries)
            text.Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description).Append('\n');
        await context.Response.WriteAsync(text.ToString());
    }
}
