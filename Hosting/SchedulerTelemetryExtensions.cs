using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Scheduler.Telemetry;

namespace Scheduler.Hosting;

/// <summary>
/// The OpenTelemetry SDK over the scheduler's meter and activity source, with the exporters the configuration turns
/// on (section "Scheduler:Telemetry"): a Prometheus scrape endpoint and OTLP (docs/observability.md).
/// </summary>
public static class SchedulerTelemetryExtensions
{
    /// <summary>The .NET runtime's own meter (GC, thread pool, exceptions), exported beside the scheduler's.</summary>
    private const string RuntimeMeter = "System.Runtime";

    /// <summary>
    /// Exports the scheduler's metrics (and, with OTLP, its traces) as <paramref name="options"/> say. Nothing is
    /// registered when every exporter is off, so nothing listens and recording costs one branch.
    /// </summary>
    public static IServiceCollection AddSchedulerTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Prometheus && !options.OtlpEnabled)
            return services;
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName, serviceInstanceId: Environment.MachineName + "/" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SchedulerMetrics.MeterName, RuntimeMeter);
                if (options.Prometheus)
                    metrics.AddPrometheusExporter();
                if (options.OtlpEnabled)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, options, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.OtlpExportInterval.TotalMilliseconds;
                    });
                }
            });
        if (options.OtlpEnabled && options.Traces)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(SchedulerMetrics.MeterName)
                .AddOtlpExporter(exporter => Configure(exporter, options, "v1/traces")));
        }
        return services;
    }

    /// <summary>
    /// The exporter uses an endpoint set in code as it is; over HTTP each signal has its own path, which the
    /// configuration leaves out (one base address for both, as the collector's documentation gives it).
    /// </summary>
    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions options, string signalPath)
    {
        var endpoint = new Uri(options.OtlpEndpoint!);
        if (options.OtlpProtocol == "HttpProtobuf")
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            exporter.Endpoint = endpoint.AbsolutePath is "" or "/" ? new Uri(endpoint, signalPath) : endpoint;
        }
        else
        {
            exporter.Protocol = OtlpExportProtocol.Grpc;
            exporter.Endpoint = endpoint;
        }
    }
}
