namespace Scheduler.Client;

/// <summary>How the SDK finds the cluster. Bound from configuration section "Scheduler:Client".</summary>
public sealed class SchedulerClientOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string SectionName = "Scheduler:Client";

    /// <summary>Gateway endpoints as "host:port". Default: the embedded silo on this machine, 127.0.0.1:30000.</summary>
    public List<string> Gateways { get; set; } = ["127.0.0.1:30000"];

    /// <summary>
    /// Redis connection string of the cluster's membership. When set, gateways are found through Redis and
    /// <see cref="Gateways"/> is ignored. Default: none (static gateways).
    /// </summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Orleans cluster id; must match the silos'. Default "scheduler".</summary>
    public string ClusterId { get; set; } = "scheduler";

    /// <summary>Orleans service id; must match the silos'. Default "scheduler".</summary>
    public string ServiceId { get; set; } = "scheduler";

    /// <summary>How long to keep trying to reach a gateway at start-up before giving up. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest payload the SDK sends, in bytes (the silo enforces its own limit too). Default 256 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = JobRequest.DefaultMaxPayloadBytes;

    /// <summary>Requests sent per call when submitting many jobs. Default 1,000.</summary>
    public int SubmitBatchSize { get; set; } = 1000;

    /// <summary>
    /// How long a submit may keep retrying when the scheduler refuses it as overloaded (a bounded backlog is full),
    /// waiting the retry-after it is given each time; beyond that it throws <see cref="OverloadedException"/>.
    /// Default zero: it throws at once.
    /// </summary>
    public TimeSpan OverloadedRetryTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Who the audit log names for control actions made through this client (cancel, requeue, purge, pause, limits...).
    /// Default null: <see cref="DefaultAuditActor"/>, "sdk:USER@HOST"; the CLI uses "cli:USER@HOST".
    /// </summary>
    public string? AuditActor { get; set; }

    /// <summary>The audit actor of a client that names none: "sdk:" and this process's user and machine.</summary>
    public static string DefaultAuditActor => $"sdk:{Environment.UserName}@{Environment.MachineName}";

    internal IEnumerable<string> Validate()
    {
        if (OverloadedRetryTimeout < TimeSpan.Zero || OverloadedRetryTimeout > TimeSpan.FromHours(1))
            yield return $"{SectionName}:OverloadedRetryTimeout must be 0 to 1 hour (was {OverloadedRetryTimeout})";
        if (Gateways is null || Gateways.Count == 0)
            yield return $"{SectionName}:Gateways must list at least one \"host:port\"";
        else
        {
            foreach (var gateway in Gateways)
            {
                if (!TryParseEndpoint(gateway, out _, out _))
                    yield return $"{SectionName}:Gateways entry '{gateway}' is not \"host:port\" with a port from 1 to 65535";
            }
        }
        if (string.IsNullOrWhiteSpace(ClusterId))
            yield return $"{SectionName}:ClusterId must not be empty";
        if (string.IsNullOrWhiteSpace(ServiceId))
            yield return $"{SectionName}:ServiceId must not be empty";
        if (ConnectTimeout <= TimeSpan.Zero)
            yield return $"{SectionName}:ConnectTimeout must be positive (was {ConnectTimeout})";
        if (MaxPayloadBytes <= 0)
            yield return $"{SectionName}:MaxPayloadBytes must be positive (was {MaxPayloadBytes})";
        if (SubmitBatchSize is < 1 or > 10_000)
            yield return $"{SectionName}:SubmitBatchSize must be 1 to 10000 (was {SubmitBatchSize})";
    }

    internal static bool TryParseEndpoint(string? text, out string host, out int port)
    {
        host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
            return false;
        host = text[..colon].Trim('[', ']');
        return int.TryParse(text[(colon + 1)..], out port) && port is > 0 and <= 65535 && host.Length > 0;
    }
}
