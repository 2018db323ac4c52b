using System.Text.Json;
using System.Text.RegularExpressions;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Telemetry;

/// <summary>The Grafana dashboard in deploy/ graphs only series the scheduler's meter publishes.</summary>
public sealed partial class GrafanaDashboardTests
{
    private static readonly string DashboardPath = Path.Combine(Repository.Root, "deploy", "grafana", "scheduler-dashboard.json");

    [Fact]
    public void EveryMetricTheDashboardQueries_IsOneTheMeterPublishes()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var queries = Strings(dashboard.RootElement).Where(s => s.Contains("scheduler_", StringComparison.Ordinal)).ToList();
        var queried = queries.SelectMany(q => SeriesName().Matches(q).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        var published = PrometheusText.PublishedSeries();

        Assert.True(dashboard.RootElement.GetProperty("panels").GetArrayLength() >= 8);
        Assert.Contains("scheduler_queue_depth", queried);
        Assert.Contains("scheduler_jobs_start_latency_seconds_bucket", queried);
        Assert.Empty(queried.Except(published));
    }

    /// <summary>Every string value in the document (queries sit in targets, templating and elsewhere).</summary>
    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };

    [GeneratedRegex(@"\bscheduler_[a-z0-9_]+")]
    private static partial Regex SeriesName();
}
