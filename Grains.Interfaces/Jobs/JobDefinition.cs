using System.Collections.Immutable;

namespace Scheduler;

/// <summary>Limits on how a job runs.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobLimits")]
public sealed record JobLimits
{
    /// <summary>Most attempts a job may be given.</summary>
    public const int MaxAllowedAttempts = 100;

    /// <summary>Attempts a job gets when neither the job nor its handler says otherwise.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>No limits set: the handler's attempts (else 3) and no timeout.</summary>
    public static JobLimits Default { get; } = new();

    /// <summary>
    /// How many attempts a job gets in all (1 = no retry), 1 to <see cref="MaxAllowedAttempts"/>. Null (the default):
    /// its handler's setting, else <see cref="DefaultMaxAttempts"/> (3).
    /// </summary>
    [Id(0)] public int? MaxAttempts { get; init; }

    /// <summary>How long one attempt may run before its token is cancelled; null = no limit.</summary>
    [Id(1)] public TimeSpan? Timeout { get; init; }
}

/// <summary>What a client asks to run. The job's id is chosen before it is sent, so a retried submit is safe.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobRequest")]
public sealed partial record JobRequest
{
    /// <summary>The queue a job goes to unless it names one.</summary>
    public const string DefaultQueue = "default";
    /// <summary>The tenant of a job that names none.</summary>
    public const string DefaultTenant = "default";

    /// <summary>Default payload limit, in bytes (256 KiB); a silo may be configured otherwise.</summary>
    public const int DefaultMaxPayloadBytes = 256 * 1024;

    /// <summary>Name of a handler registered on the silos, e.g. "command".</summary>
    [Id(0)] public required string Handler { get; init; }

    /// <summary>Opaque bytes handed to the handler (JSON for the built-in handlers).</summary>
    [Id(1)] public ImmutableArray<byte> Payload { get; init; } = [];

    /// <summary>See <see cref="JobPriority"/>.</summary>
    [Id(2)] public int Priority { get; init; } = JobPriority.Default;

    /// <summary>The queue the job waits in; a silo serves the queues in its settings.</summary>
    [Id(3)] public string Queue { get; init; } = DefaultQueue;

    /// <summary>The submitting user or tenant.</summary>
    [Id(4)] public string Tenant { get; init; } = DefaultTenant;

    /// <summary>Attempts and timeout; unset values come from the handler and the defaults.</summary>
    [Id(5)] public JobLimits Limits { get; init; } = JobLimits.Default;

    /// <summary>When set, resubmitting with the same (tenant, key) returns the existing job instead of a new one.</summary>
    [Id(6)] public string? IdempotencyKey { get; init; }

    /// <summary>Optional id chosen by the caller; ignored when <see cref="IdempotencyKey"/> is set.</summary>
    [Id(7)] public JobId? Id { get; init; }

    /// <summary>
    /// Backoff between attempts; settings left unset come from the handler's policy, then <see cref="RetryPolicy.Default"/>.
    /// Null: all from the handler or the defaults.
    /// </summary>
    [Id(8)] public RetryPolicy? Retry { get; init; }

    /// <summary>
    /// A delayed job: it starts no earlier than this time (within about a second after it), and waits Queued until
    /// then. Null or a time already past: as soon as possible. At most <see cref="RequestValidation.LongestDelay"/> ahead.
    /// </summary>
    [Id(10)] public DateTimeOffset? NotBefore { get; init; }

    /// <summary>
    /// Concurrency keys the job holds while it runs, at most <see cref="FlowKeys.MaxKeysPerJob"/> (see
    /// docs/flow-control.md). Its handler's and queue's default keys are added when it is submitted.
    /// </summary>
    [Id(16)] public ImmutableArray<ConcurrencyKey> Concurrency { get; init; } = [];

    /// <summary>
    /// A scope the job needs to itself while it runs: its queue or the whole cluster. It starts once nothing else in
    /// the scope runs; meanwhile no new job of the scope starts (see docs/flow-control.md).
    /// </summary>
    [Id(17)] public ExclusiveScope Exclusive { get; init; }

    /// <summary>
    /// The W3C trace context (a <c>traceparent</c> value) the job's spans join; null: the SDK fills in its caller's
    /// current activity, if any. The silo replaces it with its submit span's context, and every attempt's span is a
    /// child of that, on whichever silo it runs (docs/observability.md).
    /// </summary>
    [Id(30)] public string? TraceParent { get; init; }

    /// <summary>
    /// How big the job is, in any unit the submitter uses consistently (0 or more): at equal priority and within one
    /// tenant, smaller jobs start first (docs/queues.md). Null or 0: smallest. A workflow's jobs take the workflow's.
    /// </summary>
    [Id(20)] public long? SizeHint { get; init; }

    /// <summary>A URL called (a signed JSON POST) when the job ends; null: none (docs/webhooks.md).</summary>
    [Id(60)] public WebhookRequest? Webhook { get; init; }
}
