using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Telemetry;

namespace Scheduler.Tests.Telemetry;

/// <summary>Reads Prometheus' text format, and names the series the scheduler's meter publishes.</summary>
internal static class PrometheusText
{
    /// <summary>The sample lines of <paramref name="scrape"/> as (series name, labels text, value).</summary>
    public static IEnumerable<(string Name, string Labels, double Value)> Samples(string scrape)
    {
        foreach (var raw in scrape.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var close = line.LastIndexOf('}');
            string name, labels, rest;
            if (brace >= 0 && close > brace)
            {
                name = line[..brace];
                labels = line[(brace + 1)..close];
                rest = line[(close + 1)..];
            }
            else
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                name = line[..space];
                labels = "";
                rest = line[space..];
            }
            var value = rest.Trim().Split(' ')[0];
            yield return (name, labels, double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The sum of the samples of <paramref name="series"/> that carry every label in <paramref name="labels"/>.</summary>
    public static double Sum(string scrape, string series, params string[] labels) =>
        Samples(scrape).Where(s => s.Name == series && labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal))).Sum(s => s.Value);

    /// <summary>
    /// Every series name the "Scheduler" meter publishes, as the OpenTelemetry Prometheus exporter writes them: dots
    /// become underscores, unit "s" adds "_seconds", counters add "_total", histograms have _bucket, _sum and _count.
    /// </summary>
    public static IReadOnlySet<string> PublishedSeries()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var metrics = new SchedulerMetrics(new TelemetryOptions(), factory, () => 0, 1);
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Scope == factory)
                    names.UnionWith(SeriesOf(instrument));
            },
        };
        listener.Start();
        return names;
    }

    private static IEnumerable<string> SeriesOf(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_') + (instrument.Unit == "s" ? "_seconds" : "");
        var kind = instrument.GetType().GetGenericTypeDefinition();
        if (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>))
            return [name + "_total"];
        if (kind == typeof(Histogram<>))
            return [name + "_bucket", name + "_sum", name + "_count"];
        return [name];
    }
}
