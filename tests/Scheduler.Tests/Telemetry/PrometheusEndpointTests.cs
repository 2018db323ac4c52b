using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.EndToEnd;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Telemetry;

/// <summary>The real silo host (as Silo/Program.cs builds it, embedded storage): its Prometheus endpoint and health endpoints.</summary>
public sealed class PrometheusEndpointTests
{
    [Fact]
    public async Task Scrape_CountsEveryJob_AfterNJobsSucceeded()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data"));
        await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        var clientHost = await EndToEnd.EndToEnd.StartClientAsync(settings, cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri(settings.Url) };
        try
        {
            var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
            // A tenant of this test only: its series count nothing else.
            var tenant = "scrape-" + Guid.NewGuid().ToString("N")[..8];
            const int jobs = 20;
            var submitted = await client.SubmitManyAsync(
                [.. Enumerable.Range(0, jobs).Select(_ => new JobRequest { Handler = "noop", Tenant = tenant })], cts.Token);
            foreach (var job in submitted)
                Assert.Equal(JobState.Succeeded, (await client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(60), cts.Token))?.State);

            // The exporter may serve a scrape cached for a moment: read until it shows the jobs (bounded by the token).
            var label = $"tenant=\"{tenant}\"";
            string scrape;
            do
            {
                scrape = await http.GetStringAsync("/metrics", cts.Token);
                if (PrometheusText.Sum(scrape, "scheduler_jobs_succeeded_total", label) == jobs)
                    break;
                await Task.Delay(200, cts.Token);
            }
            while (true);

            Assert.Equal(jobs, PrometheusText.Sum(scrape, "scheduler_jobs_submitted_total", label));
            Assert.Equal(jobs, PrometheusText.Sum(scrape, "scheduler_jobs_started_total", label));
            Assert.Equal(0, PrometheusText.Sum(scrape, "scheduler_jobs_failed_total", label));
            Assert.True(PrometheusText.Sum(scrape, "scheduler_jobs_start_latency_seconds_count", "handler=\"noop\"") >= jobs, scrape);
            Assert.True(PrometheusText.Sum(scrape, "scheduler_jobs_run_time_seconds_count", "handler=\"noop\"", "outcome=\"success\"") >= jobs, scrape);
            // Not compared to this silo's 2 slots: other silos of the test process may be counted in too.
            Assert.Contains(PrometheusText.Samples(scrape), s => s.Name == "scheduler_worker_capacity" && s.Value >= 2);

            // Every scheduler series served is one the meter's naming predicts (what the dashboard test relies on).
            var published = PrometheusText.PublishedSeries();
            var served = PrometheusText.Samples(scrape).Select(s => s.Name).Where(n => n.StartsWith("scheduler_", StringComparison.Ordinal)).ToHashSet();
            Assert.NotEmpty(served);
            Assert.Empty(served.Except(published));
        }
        finally
        {
            await EndToEnd.EndToEnd.StopClientAsync(clientHost);
        }
    }

    [Fact]
    public async Task HealthEndpoints_AnswerLiveAndReady_AndHealthStaysAsItWas()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data"));
        await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri(settings.Url) };

        var live = await http.GetAsync("/health/live", cts.Token);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.StartsWith("Healthy", await live.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);

        var ready = await http.GetAsync("/health/ready", cts.Token);
        var text = await ready.Content.ReadAsStringAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("storage: Healthy", text, StringComparison.Ordinal);
        Assert.Contains("membership: Healthy: active", text, StringComparison.Ordinal);
        Assert.Contains("handlers: Healthy", text, StringComparison.Ordinal);
        Assert.Contains("scheduler: Healthy: taking work", text, StringComparison.Ordinal);

        var health = await http.GetStringAsync("/health", cts.Token);
        Assert.StartsWith("Healthy: taking work; 0 of 2 slots busy", health, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_Fails_NamingTheHandler_WhenConfigurationNamesOneNotRegistered()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?> { ["Scheduler:Handlers:resize-images:MaxAttempts"] = "5" },
        };
        await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri(settings.Url) };

        var ready = await http.GetAsync("/health/ready", cts.Token);
        var text = await ready.Content.ReadAsStringAsync(cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("handlers: Unhealthy: configured but not registered on this silo: resize-images", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live", cts.Token)).StatusCode);
    }

    [Fact]
    public async Task Metrics_AreNotServed_WhenPrometheusIsOff()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?> { ["Scheduler:Telemetry:Prometheus"] = "false" },
        };
        await using var silo = await SiloProcessHost.StartAsync(settings, cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri(settings.Url) };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics", cts.Token)).StatusCode);
    }
}
