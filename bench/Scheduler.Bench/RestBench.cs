using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Rest;

namespace Scheduler.Bench;

/// <summary>
/// The REST API's cost: an API host in this process (as Api/Program.cs builds it: an Orleans client of the silos),
/// called over loopback HTTP with a submitter key. Batch submits of <c>--jobs</c> in batches of <c>--batch</c>,
/// through REST and through the SDK, alternated over two rounds each (submit time only: each round's jobs are left to
/// run to the end before the next round starts); then single REST submits at 200/s for <c>--duration</c> seconds,
/// each request's time from send to answer.
/// </summary>
public static class RestBench
{
    private const int PacedRate = 200;
    private const int InFlightBatches = 4;

    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, IReadOnlyList<string> gateways, string? redis,
        string serviceId, int succeededBefore, CancellationToken ct)
    {
        var url = $"http://127.0.0.1:{Bench.FreePort()}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        var settings = new Dictionary<string, string?> { ["Urls"] = url, ["Scheduler:Client:ClusterId"] = serviceId, ["Scheduler:Client:ServiceId"] = serviceId };
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = [.. gateways];
            o.RedisConnectionString = redis;
            o.ClusterId = serviceId;
            o.ServiceId = serviceId;
            o.SubmitBatchSize = s.Batch;
        });
        builder.Services.AddSchedulerRestApi(builder.Configuration);
        await using var api = builder.Build();
        api.UseSchedulerRestApi();
        api.MapSchedulerRestApi();
        await api.StartAsync(ct);

        var key = await client.CreateApiKeyAsync(new ApiKeyRequest { Name = "bench", Role = ApiRole.Submitter }, "bench", ct);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Token);

        // The batch bodies are written before the clock starts: what is measured is the server's side.
        var batchBody = Encoding.UTF8.GetBytes("{\"jobs\":[" + string.Join(",", Enumerable.Repeat($"{{\"handler\":\"{RecordingNoopHandler.Name}\"}}", s.Batch)) + "]}");
        var batches = (s.Jobs + s.Batch - 1) / s.Batch;
        var expected = succeededBefore;
        var restSeconds = 0.0;
        var sdkSeconds = 0.0;
        long errors = 0;
        foreach (var path in new[] { "sdk", "rest", "rest", "sdk" })
        {
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, batches), new ParallelOptions { MaxDegreeOfParallelism = InFlightBatches, CancellationToken = ct }, async (_, token) =>
            {
                if (path == "sdk")
                {
                    await client.SubmitManyAsync([.. Enumerable.Range(0, s.Batch).Select(_ => new JobRequest { Handler = RecordingNoopHandler.Name })], token);
                    return;
                }
                using var content = new ByteArrayContent(batchBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
                using var response = await http.PostAsync("/api/v1/jobs/batch", content, token);
                if (!response.IsSuccessStatusCode)
                    Interlocked.Increment(ref errors);
            });
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (path == "sdk")
                sdkSeconds += seconds;
            else
                restSeconds += seconds;
            expected += batches * s.Batch;
            await Bench.WaitForSucceededAsync(client, expected, DateTime.UtcNow + s.Timeout, ct);
        }

        // Paced single submits: open loop, each request sent on its own schedule whatever the earlier ones do.
        var count = (int)(s.Duration.TotalSeconds * PacedRate);
        var single = Encoding.UTF8.GetBytes($"{{\"handler\":\"{RecordingNoopHandler.Name}\"}}");
        var latencies = new double[count];
        var pending = new List<Task>(count);
        var first = Stopwatch.GetTimestamp();
        var interval = Stopwatch.Frequency / (double)PacedRate;
        for (var i = 0; i < count; i++)
        {
            var due = first + (long)(i * interval);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 1000)
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct);
            var index = i;
            pending.Add(Task.Run(async () =>
            {
                var sent = Stopwatch.GetTimestamp();
                using var content = new ByteArrayContent(single) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
                using var response = await http.PostAsync("/api/v1/jobs", content, ct);
                latencies[index] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.Created)
                    Interlocked.Increment(ref errors);
            }, ct));
        }
        await Task.WhenAll(pending);
        var elapsed = Stopwatch.GetElapsedTime(first).TotalSeconds;
        expected += count;
        var succeeded = await Bench.WaitForSucceededAsync(client, expected, DateTime.UtcNow + s.Timeout, ct);
        Array.Sort(latencies);

        var jobs = 2.0 * batches * s.Batch;
        var result = new
        {
            mode = "rest",
            storage = s.Storage,
            jobs = batches * s.Batch,
            batch = s.Batch,
            in_flight_batches = InFlightBatches,
            sdk_batch_jobs_per_s = Math.Round(jobs / sdkSeconds),
            rest_batch_jobs_per_s = Math.Round(jobs / restSeconds),
            rest_to_sdk = Math.Round(sdkSeconds / restSeconds, 2),
            paced_rate = PacedRate,
            paced_submits = count,
            paced_achieved_per_s = Math.Round(count / elapsed, 1),
            rest_submit_ms = new { p50 = Bench.Percentile(latencies, 0.50), p95 = Bench.Percentile(latencies, 0.95), p99 = Bench.Percentile(latencies, 0.99), max = Bench.Percentile(latencies, 1.0) },
            errors,
            lost = Math.Max(0, expected - succeeded),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        await api.StopAsync(CancellationToken.None);
        return errors == 0 && succeeded >= expected;
    }
}
