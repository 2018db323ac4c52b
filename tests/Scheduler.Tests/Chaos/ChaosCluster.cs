using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Scheduler.Tests.Chaos;

/// <summary>
/// Silos as separate processes on one PostgreSQL database and one Redis server of their own (cluster and service
/// id unique per test), an SDK client finding them through Redis, and the logs of every process in a temp folder.
/// Disposal kills every silo process and stops Redis; the logs stay when a test failed.
/// </summary>
internal sealed class ChaosCluster : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<IHost> _clients = [];
    private bool _failed = true;

    private ChaosCluster(ITestOutputHelper output, RedisServer redis, string directory, string clusterId)
    {
        _output = output;
        Redis = redis;
        Directory = directory;
        ClusterId = clusterId;
    }

    public RedisServer Redis { get; }

    public string Directory { get; }

    public string ClusterId { get; }

    public List<SiloProcess> Silos { get; } = [];

    public static async Task<ChaosCluster> CreateAsync(ITestOutputHelper output, string postgresConnectionString, int silos,
        int maxConcurrentJobs, CancellationToken cancellationToken)
    {
        var id = "chaos-" + Guid.NewGuid().ToString("N")[..12];
        var directory = Path.Combine(Path.GetTempPath(), id);
        System.IO.Directory.CreateDirectory(directory);
        var redis = await RedisServer.StartAsync(cancellationToken);
        var cluster = new ChaosCluster(output, redis, directory, id);
        var environment = new Dictionary<string, string>
        {
            ["Scheduler__Storage"] = "Postgres",
            ["Scheduler__PostgresConnectionString"] = postgresConnectionString,
            ["Scheduler__RedisConnectionString"] = redis.ConnectionString,
            ["Scheduler__ClusterId"] = id,
            ["Scheduler__ServiceId"] = id,
            ["Scheduler__MaxConcurrentJobs"] = maxConcurrentJobs.ToString(CultureInfo.InvariantCulture),
            ["Scheduler__LeasePeriod"] = "00:00:03",
            ["Scheduler__ShutdownGracePeriod"] = "00:00:01",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Orleans.Runtime.Silo"] = "Information",
            ["Logging__LogLevel__Scheduler"] = "Information",
        };
        for (var i = 1; i <= silos; i++)
            cluster.Silos.Add(new SiloProcess($"silo{i}", directory, environment));
        return cluster;
    }

    /// <summary>Starts every silo that is not running, all at once, and waits until each is healthy.</summary>
    public Task StartAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Silos.Where(s => !s.IsRunning).Select(s => s.StartAsync(TimeSpan.FromSeconds(90), cancellationToken)));

    /// <summary>A started SDK client that finds the gateways through Redis.</summary>
    public async Task<ISchedulerClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddSchedulerClient(o =>
        {
            o.RedisConnectionString = Redis.ConnectionString;
            o.ClusterId = ClusterId;
            o.ServiceId = ClusterId;
            o.ConnectTimeout = TimeSpan.FromSeconds(30);
        });
        var host = builder.Build();
        _clients.Add(host);
        await host.StartAsync(cancellationToken).WaitAsync(cancellationToken);
        return host.Services.GetRequiredService<ISchedulerClient>();
    }

    /// <summary>Waits until <paramref name="count"/> silos are active in the cluster's membership.</summary>
    public async Task WaitForActiveSilosAsync(int count, CancellationToken cancellationToken)
    {
        var management = _clients[^1].Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        while ((await management.GetHosts(onlyActive: true)).Count < count)
            await Task.Delay(100, cancellationToken);
    }

    /// <summary>The silo process that holds <paramref name="grain"/>'s activation, or null when it has none.</summary>
    public async Task<SiloProcess?> SiloOfAsync(IAddressable grain)
    {
        var management = _clients[^1].Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var address = await management.GetActivationAddress(grain);
        return address is null ? null : Silos.Find(s => s.IsRunning && s.SiloPort == address.Endpoint.Port);
    }

    /// <summary>A grain reference through the last connected client.</summary>
    public T Grain<T>(string key) where T : IGrainWithStringKey =>
        _clients[^1].Services.GetRequiredService<IClusterClient>().GetGrain<T>(key);

    public void Log(string message) => _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");

    /// <summary>Call at the end of a passing test: the logs are then removed on dispose.</summary>
    public void Passed() => _failed = false;

    public async ValueTask DisposeAsync()
    {
        if (_failed)
        {
            _output.WriteLine($"logs kept in {Directory}");
            foreach (var silo in Silos)
                _output.WriteLine(silo.Tail());
        }
        foreach (var client in _clients)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.StopAsync(cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or OrleansException)
            {
            }
            client.Dispose();
        }
        foreach (var silo in Silos)
            await silo.DisposeAsync();
        await Redis.DisposeAsync();
        if (!_failed)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
