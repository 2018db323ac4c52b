using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Tests.EndToEnd;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Postgres;

/// <summary>
/// Two real silo hosts configured as the production profile: PostgreSQL storage, Redis membership, the SDK finding
/// gateways through the same Redis. Servers are real, on loopback.
/// </summary>
public sealed class PostgresClusterTests : IAsyncLifetime
{
    private PostgresServer.Lease? _postgres;
    private RedisServer? _redis;
    private string _database = "";

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
        _database = await _postgres.Server.CreateDatabaseAsync("cluster", cts.Token).WaitAsync(cts.Token);
        _redis = await RedisServer.StartAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task Jobs_RunOnBothSilos_OfAPostgresAndRedisCluster()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var cluster = $"pgc-{Guid.NewGuid():N}"[..16];
        var redis = $"127.0.0.1:{_redis!.Port}";
        SiloSettings Settings() => SiloSettings.Create(dataDirectory: "unused", clusterId: cluster, serviceId: cluster) with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Storage"] = "Postgres",
                ["Scheduler:PostgresConnectionString"] = _database,
                ["Scheduler:RedisConnectionString"] = redis,
            },
        };
        await using var first = await SiloProcessHost.StartAsync(Settings(), cts.Token);
        await using var second = await SiloProcessHost.StartAsync(Settings(), cts.Token);

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSchedulerClient(o =>
        {
            o.RedisConnectionString = redis;
            o.ClusterId = cluster;
            o.ServiceId = cluster;
        });
        using var clientHost = builder.Build();
        await clientHost.StartAsync(cts.Token);
        try
        {
            var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
            var management = clientHost.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
            while ((await management.GetHosts(onlyActive: true)).Count < 2)
                await Task.Delay(100, cts.Token);
            // Each job takes a moment and each silo has 2 slots, so one silo alone cannot take them all.
            var sleep = new CommandJob { Executable = "/bin/sleep", Arguments = ["0.3"] };
            var jobs = await client.SubmitManyAsync([.. Enumerable.Range(0, 24).Select(_ =>
                new JobRequest { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(sleep) })], cts.Token);

            var silos = new HashSet<string>();
            foreach (var job in jobs)
            {
                var status = await client.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(2), cts.Token);
                Assert.Equal(JobState.Succeeded, status?.State);
                silos.Add(status!.Silo!);
            }

            Assert.Equal(2, silos.Count);
            var listed = await client.ListAsync(new JobFilter { State = JobState.Succeeded, Limit = 1000 }, cts.Token);
            Assert.Equal(jobs.Select(j => j.Id).ToHashSet(), listed.Select(j => j.Id).ToHashSet());

            // Running jobs are listed from both silos' running attempts (no index holds state), with the listing's
            // filters, order and paging all the same.
            var longSleep = new CommandJob { Executable = "/bin/sleep", Arguments = ["120"] };
            var running = await client.SubmitManyAsync([.. Enumerable.Range(0, 4).Select(_ =>
                new JobRequest { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(longSleep) })], cts.Token);
            // 64 free slots for 4 jobs: each starts at once. Waited for up to a minute, then described if one did not.
            var startBy = DateTime.UtcNow.AddMinutes(1);
            foreach (var job in running)
            {
                JobStatus? status;
                while ((status = await client.GetStatusAsync(job.Id, cts.Token))?.State != JobState.Running && DateTime.UtcNow < startBy)
                    await Task.Delay(100, cts.Token);
                Assert.True(status?.State == JobState.Running, $"job {job.Id} did not start within a minute: {Describe(status)}");
            }
            var all = await client.ListAsync(new JobFilter { State = JobState.Running }, cts.Token);
            Assert.Equal(running.Select(j => j.Id).ToHashSet(), all.Select(j => j.Id).ToHashSet());
            Assert.All(all, j => Assert.Equal(JobState.Running, j.State));
            var firstPage = await client.ListAsync(new JobFilter { State = JobState.Running, Limit = 3 }, cts.Token);
            var secondPage = await client.ListAsync(new JobFilter { State = JobState.Running, Limit = 3, After = new JobListPosition(firstPage[^1].CreatedAt, firstPage[^1].Id) }, cts.Token);
            Assert.Equal(all.Select(j => j.Id), firstPage.Concat(secondPage).Select(j => j.Id));
            Assert.Empty(await client.ListAsync(new JobFilter { State = JobState.Running, Handler = "another-handler" }, cts.Token));
            Assert.DoesNotContain(await client.ListAsync(new JobFilter { State = JobState.Queued, Limit = 1000 }, cts.Token),
                j => running.Any(r => r.Id == j.Id));
            foreach (var job in running)
                await client.CancelAsync(job.Id, cancellationToken: cts.Token);
        }
        finally
        {
            await Scheduler.Tests.EndToEnd.EndToEnd.StopClientAsync(clientHost);
        }
    }

    private static string Describe(JobStatus? status) => status is null
        ? "not found"
        : $"{status.State}, attempt {status.Attempt}, silo {status.Silo}, waiting for {status.WaitingFor}, last error {status.LastError}";
}
