using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.EndToEnd;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Telemetry;

/// <summary>
/// The real silo host with OTLP over HTTP pointed at a receiver on loopback: after a job, metrics and traces arrive at
/// their OTLP paths below the configured base address.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task MetricsAndTraces_ReachTheCollector_WhenOtlpIsConfigured()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var port = ServerProcess.FreeLoopbackPort();
        var paths = new ConcurrentDictionary<string, int>();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var receiving = ReceiveAsync(receiver, paths);

        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Telemetry:OtlpEndpoint"] = $"http://127.0.0.1:{port}",
                ["Scheduler:Telemetry:OtlpProtocol"] = "HttpProtobuf",
                ["Scheduler:Telemetry:OtlpExportInterval"] = "00:00:01",
            },
        };
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var clientHost = await EndToEnd.EndToEnd.StartClientAsync(settings, cts.Token);
            try
            {
                var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
                var job = await client.SubmitAsync(new JobRequest { Handler = "noop" }, cts.Token);
                Assert.Equal(JobState.Succeeded, (await client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
                while (!paths.ContainsKey("/v1/metrics") || !paths.ContainsKey("/v1/traces"))
                    await Task.Delay(100, cts.Token);
            }
            finally
            {
                await EndToEnd.EndToEnd.StopClientAsync(clientHost);
            }
        }
        receiver.Stop();
        await receiving;
        Assert.Empty(paths.Keys.Except(["/v1/metrics", "/v1/traces"]));
    }

    private static async Task ReceiveAsync(HttpListener receiver, ConcurrentDictionary<string, int> paths)
    {
        try
        {
            while (receiver.IsListening)
            {
                var context = await receiver.GetContextAsync();
                await context.Request.InputStream.CopyToAsync(Stream.Null);
                paths.AddOrUpdate(context.Request.Url!.AbsolutePath, 1, (_, n) => n + 1);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped.
        }
    }
}
