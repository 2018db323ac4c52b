using System.Net;
using Npgsql;
using Scheduler.Tests.EndToEnd;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Startup;

namespace Scheduler.Tests.Telemetry;

/// <summary>
/// The real silo host on PostgreSQL, reached through a forwarder the test can cut: readiness turns unhealthy, naming
/// storage, once the database is unreachable; liveness stays healthy (the process is fine, so no restart is wanted).
/// </summary>
public sealed class ReadinessStorageTests : IAsyncLifetime
{
    private PostgresServer.Lease? _postgres;
    private string _database = "";

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
        _database = await _postgres.Server.CreateDatabaseAsync("ready", cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task Readiness_Fails_NamingStorage_WhenPostgresIsUnreachable()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var port = ServerProcess.FreeLoopbackPort();
        var forwarder = TcpForwarder.Start(port, _postgres!.Server.Port);
        var cluster = $"ready-{Guid.NewGuid():N}"[..16];
        var settings = SiloSettings.Create(dataDirectory: "unused", clusterId: cluster, serviceId: cluster) with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Storage"] = "Postgres",
                ["Scheduler:PostgresConnectionString"] = new NpgsqlConnectionStringBuilder(_database) { Port = port, Timeout = 3 }.ConnectionString,
            },
        };
        await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri(settings.Url) };
        try
        {
            var ready = await http.GetAsync("/health/ready", cts.Token);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("storage: Healthy", await ready.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);

            await forwarder.DisposeAsync();
            forwarder = null;

            ready = await http.GetAsync("/health/ready", cts.Token);
            var text = await ready.Content.ReadAsStringAsync(cts.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("storage: Unhealthy", text, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live", cts.Token)).StatusCode);
        }
        finally
        {
            if (forwarder is not null)
                await forwarder.DisposeAsync();
        }
    }
}
