namespace Scheduler;

/// <summary>Scheduler settings of one silo, bound from configuration section "Scheduler".</summary>
public sealed class SchedulerOptions
{
    public const string SectionName = "Scheduler";

    /// <summary>Jobs this silo runs at once (its capacity). Default 32.</summary>
    public int MaxConcurrentJobs { get; set; } = 32;

    /// <summary>Queues this silo serves; a job for another queue is refused. Default ["default"].</summary>
    public List<string> Queues { get; set; } = [JobRequest.DefaultQueue];

    /// <summary>
    /// Shards per queue: each is one grain, so more shards spread load over silos. Must be the same on every silo
    /// and not changed while jobs are queued. Default 4.
    /// </summary>
    public int ShardsPerQueue { get; set; } = 4;

    /// <summary>Largest job payload accepted, in bytes. Default 256 KiB.</summary>
    public int MaxPayloadBytes { get; set; } = JobRequest.DefaultMaxPayloadBytes;

    /// <summary>Most jobs taken from a shard in one pull. Default 256.</summary>
    public int PullBatchSize { get; set; } = 256;

    /// <summary>How long a silo's watch on a queue shard waits for a change before it is renewed. Default 15 s.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a running attempt stays leased without a renewal. Executors renew every quarter of it; when renewals
    /// stop (the executor's silo died or hangs), the job is requeued within about 1.25 × this. Default 8 s.
    /// </summary>
    public TimeSpan LeasePeriod { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>How often executors renew leases and job grains check them: a quarter of <see cref="LeasePeriod"/>.</summary>
    public TimeSpan LeaseCheckInterval => LeasePeriod / 4;

    /// <summary>How long running jobs may finish when the silo stops before their tokens are cancelled. Default 10 s.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a workflow with jobs out may go without a change before the watchdog checks its jobs for ends it
    /// missed (a report lost with a silo). The watchdogs look every minute. Default 1 minute.
    /// </summary>
    public TimeSpan WorkflowQuietPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long before its time a job schedule fires an occurrence: its run is submitted then and waits in memory for
    /// the time, when it is queued and started, so the firing's work and the schedule's write are done by then. Not
    /// when the overlap policy must look at a previous run still going (that is done at the time). Pausing or deleting
    /// the schedule cancels a run fired ahead (it shows as a cancelled run). 0 to 5 s; default 0: fire at the time.
    /// </summary>
    public TimeSpan ScheduleLead { get; set; } = TimeSpan.Zero;

    /// <summary>How long finished jobs and workflows are kept (section "Scheduler:Retention").</summary>
    public RetentionOptions Retention { get; set; } = new();

    /// <summary>Concurrency keys and rate limits: key settings and default keys per handler and queue (docs/flow-control.md).</summary>
    public Limits.FlowControlOptions FlowControl { get; set; } = new();

    /// <summary>Metrics, traces and their exporters (section "Scheduler:Telemetry", docs/observability.md).</summary>
    public Telemetry.TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Fair share between tenants, tenant weights and aging per queue (section "Scheduler:Ordering", docs/queues.md).</summary>
    public Queues.QueueOrderingOptions Ordering { get; set; } = new();

    /// <summary>Bounded backlogs per queue and tenant (section "Scheduler:Backpressure", docs/protection.md).</summary>
    public Protection.BackpressureOptions Backpressure { get; set; } = new();

    /// <summary>Circuit breakers per handler and concurrency key (section "Scheduler:Breakers", docs/protection.md).</summary>
    public Protection.BreakerOptions Breakers { get; set; } = new();

    /// <summary>Signing and retries of webhook calls (section "Scheduler:Webhooks", docs/webhooks.md).</summary>
    public Webhooks.WebhookOptions Webhooks { get; set; } = new();

    public IEnumerable<string> Validate()
    {
        foreach (var problem in Backpressure?.Validate($"{SectionName}:Backpressure") ?? [$"{SectionName}:Backpressure must not be null"])
            yield return problem;
        foreach (var problem in Breakers?.Validate($"{SectionName}:Breakers") ?? [$"{SectionName}:Breakers must not be null"])
            yield return problem;
        foreach (var problem in FlowControl?.Validate($"{SectionName}:FlowControl") ?? [$"{SectionName}:FlowControl must not be null"])
            yield return problem;
        foreach (var problem in Ordering?.Validate($"{SectionName}:{nameof(Ordering)}") ?? [$"{SectionName}:Ordering must not be null"])
            yield return problem;
        if (Retention is null)
            yield return $"{SectionName}:Retention must not be null";
        else
        {
            foreach (var problem in Retention.Validate($"{SectionName}:{nameof(Retention)}"))
                yield return problem;
        }
        foreach (var problem in Webhooks?.Validate($"{SectionName}:{nameof(Webhooks)}") ?? [$"{SectionName}:Webhooks must not be null"])
            yield return problem;
        foreach (var problem in Telemetry?.Validate($"{SectionName}:{nameof(Telemetry)}") ?? [$"{SectionName}:Telemetry must not be null"])
            yield return problem;
        if (ScheduleLead < TimeSpan.Zero || ScheduleLead > TimeSpan.FromSeconds(5))
            yield return $"{SectionName}:ScheduleLead must be 0 to 5 s (was {ScheduleLead})";
        if (WorkflowQuietPeriod < TimeSpan.Zero || WorkflowQuietPeriod > TimeSpan.FromDays(1))
            yield return $"{SectionName}:WorkflowQuietPeriod must be 0 to 1 day (was {WorkflowQuietPeriod})";
        if (LeasePeriod < TimeSpan.FromSeconds(1) || LeasePeriod > TimeSpan.FromMinutes(10))
            yield return $"{SectionName}:LeasePeriod must be 1 s to 10 minutes (was {LeasePeriod})";
        if (ShutdownGracePeriod < TimeSpan.Zero || ShutdownGracePeriod > TimeSpan.FromMinutes(10))
            yield return $"{SectionName}:ShutdownGracePeriod must be 0 to 10 minutes (was {ShutdownGracePeriod})";
        if (MaxConcurrentJobs is < 1 or > 100_000)
            yield return $"{SectionName}:MaxConcurrentJobs must be 1 to 100000 (was {MaxConcurrentJobs})";
        if (Queues is null || Queues.Count == 0)
            yield return $"{SectionName}:Queues must name at least one queue";
        else
        {
            foreach (var queue in Queues.Where(q => !RequestValidation.IsName(q)))
                yield return $"{SectionName}:Queues entry '{queue}' is not a valid name ({RequestValidation.NameRule})";
            if (Queues.Distinct(StringComparer.Ordinal).Count() != Queues.Count)
                yield return $"{SectionName}:Queues lists a queue twice";
        }
        if (ShardsPerQueue is < 1 or > 1024)
            yield return $"{SectionName}:ShardsPerQueue must be 1 to 1024 (was {ShardsPerQueue})";
        if (MaxPayloadBytes is < 1 or > 16 * 1024 * 1024)
            yield return $"{SectionName}:MaxPayloadBytes must be 1 to 16777216 (was {MaxPayloadBytes})";
        if (PullBatchSize is < 1 or > 10_000)
            yield return $"{SectionName}:PullBatchSize must be 1 to 10000 (was {PullBatchSize})";
        if (WatchTimeout < TimeSpan.FromSeconds(1) || WatchTimeout > TimeSpan.FromSeconds(25))
            yield return $"{SectionName}:WatchTimeout must be 1 s to 25 s, below the grain call timeout (was {WatchTimeout})";
    }

    /// <summary>The shard a job belongs to: a stable hash of its id.</summary>
    public int ShardOf(JobId id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.Value.TryWriteBytes(bytes);
        var hash = BitConverter.ToUInt64(bytes) ^ BitConverter.ToUInt64(bytes[8..]);
        return (int)(hash % (ulong)ShardsPerQueue);
    }

    public static string ShardKey(string queue, int shard) => $"{queue}/{shard}";
}
