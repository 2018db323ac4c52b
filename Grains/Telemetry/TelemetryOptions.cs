namespace Scheduler.Telemetry;

/// <summary>Metrics, traces and their exporters, bound from section "Scheduler:Telemetry" (docs/observability.md).</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// Serve the metrics in Prometheus' text format on the silo's HTTP port at <see cref="PrometheusPath"/>. Default
    /// true: the HTTP port listens on loopback unless configured otherwise, and the figures name only queues, handlers
    /// and tenants.
    /// </summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Path of the Prometheus scrape endpoint. Default "/metrics".</summary>
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>
    /// Where to send metrics and traces by OTLP, e.g. "http://otel-collector:4317". Default none: OTLP is off, and
    /// without it no trace is recorded (nothing else exports them).
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>"Grpc" (port 4317, the default) or "HttpProtobuf" (port 4318).</summary>
    public string OtlpProtocol { get; set; } = "Grpc";

    /// <summary>With OTLP on: also send traces (submit and attempt spans). Default true.</summary>
    public bool Traces { get; set; } = true;

    /// <summary>How often metrics are pushed by OTLP. Default 15 s.</summary>
    public TimeSpan OtlpExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The service name figures and spans carry (OpenTelemetry's service.name). Default "scheduler".
    /// </summary>
    public string ServiceName { get; set; } = "scheduler";

    /// <summary>
    /// Most distinct tenants a silo names in metric tags; later ones are counted under "other", so a platform with
    /// many tenants cannot blow up the number of series. Default 50.
    /// </summary>
    public int MaxTenantTags { get; set; } = 50;

    /// <summary>The same bound for handler names and queues (they come from requests). Default 100.</summary>
    public int MaxHandlerTags { get; set; } = 100;

    /// <summary>True when OTLP export is configured.</summary>
    public bool OtlpEnabled => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    public IEnumerable<string> Validate(string prefix)
    {
        if (Prometheus && (string.IsNullOrWhiteSpace(PrometheusPath) || !PrometheusPath.StartsWith('/') || PrometheusPath.Contains(' ', StringComparison.Ordinal)))
            yield return $"{prefix}:PrometheusPath must be a path starting with '/' (was '{PrometheusPath}')";
        if (OtlpEnabled && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            yield return $"{prefix}:OtlpEndpoint must be an absolute http or https URL, e.g. http://otel-collector:4317 (was '{OtlpEndpoint}')";
        if (OtlpProtocol is not ("Grpc" or "HttpProtobuf"))
            yield return $"{prefix}:OtlpProtocol must be Grpc or HttpProtobuf (was '{OtlpProtocol}')";
        if (OtlpExportInterval < TimeSpan.FromSeconds(1) || OtlpExportInterval > TimeSpan.FromMinutes(10))
            yield return $"{prefix}:OtlpExportInterval must be 1 s to 10 minutes (was {OtlpExportInterval})";
        if (string.IsNullOrWhiteSpace(ServiceName))
            yield return $"{prefix}:ServiceName must not be empty";
        if (MaxTenantTags is < 1 or > 10_000)
            yield return $"{prefix}:MaxTenantTags must be 1 to 10000 (was {MaxTenantTags})";
        if (MaxHandlerTags is < 1 or > 10_000)
            yield return $"{prefix}:MaxHandlerTags must be 1 to 10000 (was {MaxHandlerTags})";
    }
}
