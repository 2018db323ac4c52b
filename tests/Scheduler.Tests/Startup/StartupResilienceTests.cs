using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Scheduler.Client;
using Scheduler.Hosting;
using Scheduler.Tests.EndToEnd;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Startup;

/// <summary>
/// The real silo host in the cluster profile (PostgreSQL storage, Redis membership) started before its servers
/// are there: it waits with backoff and comes up when they appear, or gives up after Scheduler:StartupTimeout
/// naming what is missing. Servers are real, on loopback.
/// </summary>
public sealed class StartupResilienceTests : IAsyncLifetime
{
    private PostgresServer.Lease? _postgres;
    private string _database = "";

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
        _database = await _postgres.Server.CreateDatabaseAsync("startup", cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task Silo_WaitsForRedisAndPostgres_AndRunsAJob_OnceTheyAppear()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var redisPort = ServerProcess.FreeLoopbackPort();
        var postgresPort = ServerProcess.FreeLoopbackPort();
        var settings = Settings(redisPort, postgresPort, startupTimeout: TimeSpan.FromMinutes(1));

        var clock = Stopwatch.StartNew();
        var starting = SiloProcessHost.StartAsync(settings, cts.Token);
        await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
        Assert.False(starting.IsCompleted, "the silo started (or failed) without Redis");

        await using var redis = await RedisServer.StartAsync(cts.Token, redisPort).WaitAsync(cts.Token);
        await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
        Assert.False(starting.IsCompleted, "the silo started (or failed) without PostgreSQL");

        await using var postgres = TcpForwarder.Start(postgresPort, _postgres!.Server.Port);
        await using var silo = await starting.WaitAsync(TimeSpan.FromSeconds(45), cts.Token);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4));

        var clientHost = await EndToEnd.EndToEnd.StartClientAsync(settings, cts.Token);
        try
        {
            var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
            var job = await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/echo", Arguments = ["hi"] }, cancellationToken: cts.Token);
            var status = await client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(30), cts.Token);
            Assert.Equal(JobState.Succeeded, status?.State);
        }
        finally
        {
            await EndToEnd.EndToEnd.StopClientAsync(clientHost);
        }
    }

    [Fact]
    public async Task Start_Fails_NamingPostgres_WhenNobodyServesItsPort()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var postgresPort = ServerProcess.FreeLoopbackPort();
        var settings = Settings(redisPort: null, postgresPort, startupTimeout: TimeSpan.FromSeconds(3));

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SchedulerStartupException>(async () =>
        {
            await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        });

        Assert.Contains($"PostgreSQL at 127.0.0.1:{postgresPort}/", error.Message, StringComparison.Ordinal);
        Assert.Contains("Scheduler:StartupTimeout", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", error.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Start_Fails_NamingRedis_WhenNobodyServesItsPort()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var redisPort = ServerProcess.FreeLoopbackPort();
        var settings = Settings(redisPort, _postgres!.Server.Port, startupTimeout: TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsAsync<SchedulerStartupException>(async () =>
        {
            await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        });

        Assert.StartsWith($"Redis at 127.0.0.1:{redisPort} was not reachable within 2 s", error.Message, StringComparison.Ordinal);
    }

    private SiloSettings Settings(int? redisPort, int postgresPort, TimeSpan startupTimeout)
    {
        var cluster = $"start-{Guid.NewGuid():N}"[..16];
        var database = new NpgsqlConnectionStringBuilder(_database) { Port = postgresPort, Password = "secret-password" }.ConnectionString;
        return SiloSettings.Create(dataDirectory: "unused", clusterId: cluster, serviceId: cluster) with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Storage"] = "Postgres",
                ["Scheduler:PostgresConnectionString"] = database,
                ["Scheduler:RedisConnectionString"] = redisPort is null ? null : $"127.0.0.1:{redisPort}",
                ["Scheduler:StartupTimeout"] = startupTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            },
        };
    }
}
