using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Examples;

/// <summary>
/// A user's own silo, as README.md shows it: a plain generic host (no web application, no "Scheduler" configuration
/// section) that hosts the scheduler through the hosting library's public API alone: one AddScheduler call and a storage.
/// </summary>
public sealed class OwnSiloExample
{
    [Fact]
    public async Task AddScheduler_RunsJobsInAUsersOwnSilo()
    {
        using var dir = new TempDirectory();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var (siloPort, gatewayPort, id) = NewSilo();
        var dataDirectory = Path.Combine(dir.Path, "data");

        // docs: own silo
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort, gatewayPort, serviceId: id, clusterId: id)
            .AddScheduler(options => options.Queues = ["default", "mail"])
            .UseEmbeddedSchedulerStorage(dataDirectory)); // or UsePostgresSchedulerStorage(connectionString)
        builder.Services.AddJobHandler<GreetingHandler>("greet");
        using var host = builder.Build();
        await host.StartAsync(cts.Token);
        // docs: end own silo
        try
        {
            using var clientHost = await MemoryClusterFixture.StartClientAsync(gatewayPort, id);
            var client = clientHost.Services.GetRequiredService<ISchedulerClient>();

            var job = await client.SubmitAsync("greet", new Greeting("Ada"), request => request with { Queue = "mail" }, cts.Token);
            var status = await client.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(1), cts.Token);
            var log = await client.GetLogAsync(job.Id, cancellationToken: cts.Token);

            Assert.Equal(JobState.Succeeded, status!.State);
            Assert.Contains(log, line => line.Text == "hello Ada");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task AddScheduler_WithoutStorage_RefusesToStartAndNamesTheChoices()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var (siloPort, gatewayPort, id) = NewSilo();

        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort, gatewayPort, serviceId: id, clusterId: id)
            .AddScheduler());
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(cts.Token));
        Assert.Contains("UseEmbeddedSchedulerStorage, UsePostgresSchedulerStorage or UseInMemorySchedulerStorage", error.ToString());
    }

    private static (int SiloPort, int GatewayPort, string Id) NewSilo()
    {
        var ports = ServerProcess.FreeLoopbackPorts(2);
        return (ports[0], ports[1], "own-" + Guid.NewGuid().ToString("N")[..12]);
    }

    public sealed record Greeting(string Name);

    public sealed class GreetingHandler : IJobHandler
    {
        public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
        {
            context.Log.Write(LogStream.StdOut, $"hello {context.ReadPayload<Greeting>().Name}");
            return Task.FromResult(JobResult.Success());
        }
    }
}
