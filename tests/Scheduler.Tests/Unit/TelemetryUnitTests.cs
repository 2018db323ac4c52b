using System.Diagnostics.Metrics;
using Scheduler.Queues;
using Scheduler.Telemetry;

namespace Scheduler.Tests.Unit;

public sealed class TelemetryUnitTests
{
    [Fact]
    public void ShardQueue_CountsWaitingJobsByPriorityAndTenant_AsTheyComeAndGo()
    {
        var queue = new ShardQueue();
        var a = new QueueEntry(JobId.New(), 50, 1, Tenant: "acme");
        var b = new QueueEntry(JobId.New(), 50, 2, Tenant: "acme");
        var c = new QueueEntry(JobId.New(), 80, 3, Tenant: "globex");
        foreach (var entry in new[] { a, b, c, a })
            queue.Add(entry);
        Assert.Equal([new WaitingCount(50, "acme", 2), new WaitingCount(80, "globex", 1)], queue.Waiting().OrderBy(w => w.Priority));

        Assert.Equal(c, Assert.Single(queue.Take(1, JobPriority.Min)));
        queue.Remove(a.Id);
        Assert.Equal(new WaitingCount(50, "acme", 1), Assert.Single(queue.Waiting()));
        queue.Take(10, JobPriority.Min);
        Assert.Empty(queue.Waiting());
    }

    [Fact]
    public void ShardQueue_FoldsTenantsBeyondTheGroupLimit_PerPriority()
    {
        var queue = new ShardQueue();
        for (var i = 0; i < WaitingCount.MaxGroups + 50; i++)
            queue.Add(new QueueEntry(JobId.New(), 10, i, Tenant: $"t{i}"));
        var waiting = queue.Waiting();
        Assert.True(waiting.Length <= WaitingCount.MaxGroups);
        Assert.Equal(WaitingCount.MaxGroups + 50, waiting.Sum(w => w.Count));
        Assert.Contains(waiting, w => w.Tenant is null && w.Priority == 10);
    }

    [Fact]
    public void Metrics_NameTenantsUpToTheBound_AndCountTheRestAsOther()
    {
        using var metrics = new SchedulerMetrics(new TelemetryOptions { MaxTenantTags = 2 });
        var tenants = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == metrics.Meter && instrument.Name == "scheduler.jobs.submitted")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "tenant")
                    tenants.Add((string)tag.Value!);
            }
        });
        listener.Start();

        foreach (var tenant in new[] { "a", "b", "c", "a", "d" })
            metrics.Submitted("default", "noop", tenant);

        Assert.Equal(["a", "b", SchedulerMetrics.Other, "a", SchedulerMetrics.Other], tenants);
    }

    [Theory]
    [InlineData("OtlpEndpoint", "collector:4317", "Scheduler:Telemetry:OtlpEndpoint must be an absolute http or https URL")]
    [InlineData("OtlpProtocol", "Thrift", "Scheduler:Telemetry:OtlpProtocol must be Grpc or HttpProtobuf")]
    [InlineData("PrometheusPath", "metrics", "Scheduler:Telemetry:PrometheusPath must be a path starting with '/'")]
    [InlineData("MaxTenantTags", "0", "Scheduler:Telemetry:MaxTenantTags must be 1 to 10000")]
    public void Options_NameTheSettingAndTheRule_WhenInvalid(string setting, string value, string expected)
    {
        var options = new SchedulerOptions();
        var property = typeof(TelemetryOptions).GetProperty(setting)!;
        property.SetValue(options.Telemetry, Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(options.Validate(), p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Request_WithAMalformedTraceParent_IsRefused()
    {
        var request = new JobRequest { Handler = "noop", TraceParent = "not-a-trace" };
        Assert.Contains("trace parent", RequestValidation.Check(request, 1024)?.Message, StringComparison.Ordinal);
        Assert.Null(RequestValidation.Check(request with { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, 1024));
    }
}
