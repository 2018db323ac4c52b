using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Scheduler.Hosting;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A real silo host built as Silo/Program.cs builds it: embedded storage in <paramref name="dataDirectory"/>, loopback
/// ports, loopback trust off (every request needs a key, as from beyond loopback) and no key cache (a revoked key stops
/// at once). Callers add their settings and handlers, build, then <see cref="StartAsync"/>.
/// </summary>
internal static class WebSilo
{
    public static WebApplicationBuilder CreateBuilder(string dataDirectory, string clusterId, int siloPort, int gatewayPort,
        IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SchedulerHostExtensions).Assembly.GetName().Name,
            EnvironmentName = "Production",
        });
        var all = new Dictionary<string, string?>
        {
            ["Scheduler:Storage"] = "Embedded",
            ["Scheduler:DataDirectory"] = dataDirectory,
            ["Scheduler:ClusterId"] = clusterId,
            ["Scheduler:ServiceId"] = clusterId,
            ["Scheduler:SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Scheduler:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["Scheduler:ShutdownGracePeriod"] = "00:00:02",
            ["Scheduler:Api:TrustLoopback"] = "false",
            ["Scheduler:Api:KeyCacheDuration"] = "00:00:00",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        builder.Configuration.AddInMemoryCollection(all);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }

    public static async Task StartAsync(WebApplication app)
    {
        app.MapScheduler();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await app.StartAsync(cts.Token).WaitAsync(cts.Token);
    }

    public static async Task StopAsync(WebApplication? app)
    {
        if (app is null)
            return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await app.StopAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Disposed below all the same.
        }
        await app.DisposeAsync();
    }
}
