using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Telemetry;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Telemetry;

/// <summary>
/// The queue depth gauge of a real silo, read as an exporter reads it: jobs waiting behind busy slots are counted by
/// queue, priority and tenant once the shards' next held-jobs report comes back, and read 0 once they have run.
/// </summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class QueueDepthMetricTests(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task Depth_CountsWaitingJobsByTenantAndPriority_ThenFallsToZero()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var metrics = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<SchedulerMetrics>();
        var tenant = "depth-" + Guid.NewGuid().ToString("N")[..8];

        // Both slots busy for longer than a report interval, then five jobs that wait.
        var blockers = await fixture.Client.SubmitManyAsync(
            [.. Enumerable.Range(0, MemoryClusterFixture.Capacity).Select(_ => Payloads.WorkJob(sleepMs: 8000, priority: JobPriority.Max))], cts.Token);
        while (true)
        {
            var statuses = await Task.WhenAll(blockers.Select(b => fixture.Client.GetStatusAsync(b.Id, cts.Token)));
            if (statuses.All(s => s?.State == JobState.Running))
                break;
            await Task.Delay(50, cts.Token);
        }
        var waiting = await fixture.Client.SubmitManyAsync(
            [.. Enumerable.Range(0, 5).Select(_ => Payloads.WorkJob(priority: 77) with { Tenant = tenant })], cts.Token);

        while (Depth(metrics, tenant, "77") != 5)
            await Task.Delay(200, cts.Token);

        foreach (var job in waiting)
            Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(60), cts.Token))?.State);
        while (Depth(metrics, tenant, "77") != 0)
            await Task.Delay(200, cts.Token);
    }

    /// <summary>What the gauge reads now for the tenant and priority in the default queue (null: no such series).</summary>
    private static long? Depth(SchedulerMetrics metrics, string tenant, string priority)
    {
        long? depth = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == metrics.Meter && instrument.Name == "scheduler.queue.depth")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var values = new Dictionary<string, object?>();
            foreach (var tag in tags)
                values[tag.Key] = tag.Value;
            if (Equals(values["tenant"], tenant) && Equals(values["priority"], priority) && Equals(values["queue"], "default"))
                depth = (depth ?? 0) + value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return depth;
    }
}
