using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Scheduler.Hosting;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Where and how one silo runs: loopback ports, cluster identity and the "Scheduler" settings. A restart reuses
/// the same settings (same data directory, service id and ports).
/// </summary>
internal sealed record SiloSettings
{
    public required int HttpPort { get; init; }
    public required int SiloPort { get; init; }
    public required int GatewayPort { get; init; }
    public required string ClusterId { get; init; }
    public required string ServiceId { get; init; }
    public required string DataDirectory { get; init; }
    public int MaxConcurrentJobs { get; init; } = 2;
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Extra or replacing configuration entries, applied last (e.g. invalid values).</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    public string Url => $"http://127.0.0.1:{HttpPort}";

    public string Gateway => $"127.0.0.1:{GatewayPort}";

    /// <summary>Fresh loopback ports and a unique cluster/service id; embedded storage in <paramref name="dataDirectory"/>.</summary>
    public static SiloSettings Create(string dataDirectory, string? clusterId = null, string? serviceId = null)
    {
        var ports = Scheduler.Tests.Infrastructure.ServerProcess.FreeLoopbackPorts(3);
        var unique = Guid.NewGuid().ToString("N")[..12];
        return new SiloSettings
        {
            HttpPort = ports[0],
            SiloPort = ports[1],
            GatewayPort = ports[2],
            ClusterId = clusterId ?? "e2e-" + unique,
            ServiceId = serviceId ?? "e2e-" + unique,
            DataDirectory = dataDirectory,
        };
    }

    public Dictionary<string, string?> ToConfiguration()
    {
        var values = new Dictionary<string, string?>
        {
            ["Urls"] = Url,
            ["Scheduler:Storage"] = "Embedded",
            ["Scheduler:DataDirectory"] = DataDirectory,
            ["Scheduler:ClusterId"] = ClusterId,
            ["Scheduler:ServiceId"] = ServiceId,
            ["Scheduler:SiloPort"] = SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Scheduler:GatewayPort"] = GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Scheduler:Dashboard"] = "false",
            ["Scheduler:MaxConcurrentJobs"] = MaxConcurrentJobs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Scheduler:ShutdownGracePeriod"] = ShutdownGracePeriod.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in Overrides)
            values[key] = value;
        return values;
    }

}

/// <summary>
/// The real silo host, in process, built exactly as Silo/Program.cs builds it
/// (<c>WebApplication.CreateBuilder</c>, <c>AddScheduler()</c>, <c>MapScheduler()</c>) with in-memory configuration on top.
/// </summary>
internal sealed class SiloProcessHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private SiloProcessHost(SiloSettings settings, WebApplication app)
    {
        Settings = settings;
        _app = app;
    }

    public SiloSettings Settings { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds the host as Program.cs does; throws what <c>AddScheduler()</c> or <c>Build()</c> throws.</summary>
    public static WebApplication Build(SiloSettings settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SchedulerHostExtensions).Assembly.GetName().Name,
            EnvironmentName = "Production",
        });
        builder.Configuration.AddInMemoryCollection(settings.ToConfiguration());
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddScheduler();
        var app = builder.Build();
        app.MapScheduler();
        return app;
    }

    public static async Task<SiloProcessHost> StartAsync(SiloSettings settings, CancellationToken cancellationToken)
    {
        var app = Build(settings);
        try
        {
            await app.StartAsync(cancellationToken).WaitAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new SiloProcessHost(settings, app);
    }

    /// <summary>Stops the silo as Ctrl+C would: running jobs get the configured grace period.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopped)
            return;
        _stopped = true;
        await _app.StopAsync(cancellationToken).WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await StopAsync(cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException)
            {
                // Disposal below still releases the ports as far as it can.
            }
        }
        await _app.DisposeAsync();
    }
}
