using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Scheduler.Telemetry;

/// <summary>
/// The scheduler's figures (meter <see cref="MeterName"/>), recorded where the job path already passes: submit in
/// <see cref="Jobs.JobSubmitter"/>, starts and outcomes in the job grain, run times in the attempt runner, queue depths
/// from the held-jobs reports the worker pool sends every few seconds. Each recording first asks whether anything
/// listens, so a silo without exporters pays one branch. Names, units and tags: docs/observability.md.
/// </summary>
public sealed class SchedulerMetrics : IDisposable
{
    /// <summary>The name of the meter (and of the activity source).</summary>
    public const string MeterName = "Scheduler";

    /// <summary>The tag value of tenants, handlers or queues beyond the configured bound.</summary>
    public const string Other = "other";

    // Seconds: from a few milliseconds (a no-op job's start) to an hour (a long batch run).
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Meter _meter;
    private readonly Counter<long> _submitted;
    private readonly Counter<long> _started;
    private readonly Counter<long> _succeeded;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _cancelled;
    private readonly Counter<long> _leasesLost;
    private readonly Counter<long> _flowWaits;
    private readonly Histogram<double> _startLatency;
    private readonly Histogram<double> _runTime;
    private readonly TagLimit _tenants;
    private readonly TagLimit _handlers;
    private readonly TagLimit _queues;

    // The last depth each queue shard reported, by shard key; and every (queue, priority, tenant) ever published, so
    // a group that empties reads 0 rather than vanishing.
    private readonly ConcurrentDictionary<string, ImmutableArray<WaitingCount>> _depth = new(StringComparer.Ordinal);
    private readonly HashSet<(string Queue, int Priority, string Tenant)> _published = [];

    internal SchedulerMetrics(TelemetryOptions options, IMeterFactory? meterFactory = null, Func<int>? running = null, int capacity = 0)
    {
        _tenants = new TagLimit(options.MaxTenantTags);
        _handlers = new TagLimit(options.MaxHandlerTags);
        _queues = new TagLimit(options.MaxHandlerTags);
        // From the host's factory when there is one: each silo of a test process then has a meter of its own.
        _meter = meterFactory?.Create(MeterName, Version) ?? new Meter(MeterName, Version);
        _submitted = _meter.CreateCounter<long>("scheduler.jobs.submitted", "{job}", "Jobs accepted by a submit (not repeats of an existing job)");
        _started = _meter.CreateCounter<long>("scheduler.jobs.started", "{attempt}", "Attempts started");
        _succeeded = _meter.CreateCounter<long>("scheduler.jobs.succeeded", "{job}", "Jobs that ended Succeeded");
        _failed = _meter.CreateCounter<long>("scheduler.jobs.failed", "{attempt}", "Attempts that failed (tag outcome: retriable, fatal or lease_lost), whether or not the job is retried");
        _retried = _meter.CreateCounter<long>("scheduler.jobs.retried", "{job}", "Failed attempts after which the job goes back to its queue");
        _deadLettered = _meter.CreateCounter<long>("scheduler.jobs.dead_lettered", "{job}", "Jobs that ended Failed (tag reason: attempts_exhausted or fatal)");
        _cancelled = _meter.CreateCounter<long>("scheduler.jobs.cancelled", "{job}", "Jobs that ended Cancelled");
        _leasesLost = _meter.CreateCounter<long>("scheduler.leases.lost", "{attempt}", "Attempts abandoned because their lease ran out (their silo died or hung)");
        _flowWaits = _meter.CreateCounter<long>("scheduler.flow.waits", "{wait}", "Starts refused by flow control: the job waits for a concurrency key, a rate limit or an exclusive scope (tag kind)");
        _startLatency = _meter.CreateHistogram("scheduler.jobs.start_latency", "s", "From a job being ready (submitted, due, or queued again) to its attempt's start",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _runTime = _meter.CreateHistogram("scheduler.jobs.run_time", "s", "How long an attempt's handler ran (tag outcome: success, retriable or fatal)",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _meter.CreateObservableGauge("scheduler.queue.depth", ObserveDepth, "{job}",
            "Jobs waiting in their queue, ready to run, as of the last report of each shard (every 5 s); the same on every silo serving the queue: aggregate with max, not sum");
        if (running is not null)
        {
            _meter.CreateObservableGauge("scheduler.worker.running", running, "{job}", "Attempts this silo runs now");
            _meter.CreateObservableGauge("scheduler.worker.capacity", () => capacity, "{job}", "Attempts this silo runs at most at once (MaxConcurrentJobs)");
        }
    }

    /// <summary>The meter itself (tests read the instruments of one silo through it).</summary>
    internal Meter Meter => _meter;

    private static string Version => typeof(SchedulerMetrics).Assembly.GetName().Version?.ToString() ?? "0";

    internal void Submitted(string queue, string handler, string tenant)
    {
        if (_submitted.Enabled)
            _submitted.Add(1, Queue(queue), Handler(handler), Tenant(tenant));
    }

    internal void Started(string queue, string handler, string tenant, TimeSpan latency)
    {
        if (_started.Enabled)
            _started.Add(1, Queue(queue), Handler(handler), Tenant(tenant));
        if (_startLatency.Enabled)
            _startLatency.Record(Math.Max(0, latency.TotalSeconds), Queue(queue), Handler(handler));
    }

    internal void Succeeded(string queue, string handler, string tenant)
    {
        if (_succeeded.Enabled)
            _succeeded.Add(1, Queue(queue), Handler(handler), Tenant(tenant));
    }

    /// <param name="outcome">"retriable", "fatal" or "lease_lost".</param>
    internal void AttemptFailed(string queue, string handler, string tenant, string outcome)
    {
        if (_failed.Enabled)
            _failed.Add(1, Queue(queue), Handler(handler), Tenant(tenant), new("outcome", outcome));
    }

    internal void Retried(string queue, string handler, string tenant)
    {
        if (_retried.Enabled)
            _retried.Add(1, Queue(queue), Handler(handler), Tenant(tenant));
    }

    internal void DeadLettered(string queue, string handler, string tenant, DeadLetterReason? reason)
    {
        if (_deadLettered.Enabled)
            _deadLettered.Add(1, Queue(queue), Handler(handler), Tenant(tenant),
                new("reason", reason == DeadLetterReason.Fatal ? "fatal" : "attempts_exhausted"));
    }

    internal void Cancelled(string queue, string handler, string tenant)
    {
        if (_cancelled.Enabled)
            _cancelled.Add(1, Queue(queue), Handler(handler), Tenant(tenant));
    }

    internal void LeaseLost(string queue, string handler)
    {
        if (_leasesLost.Enabled)
            _leasesLost.Add(1, Queue(queue), Handler(handler));
    }

    /// <param name="kind">"concurrency", "rate" or "exclusive".</param>
    internal void FlowWait(string queue, string handler, string kind)
    {
        if (_flowWaits.Enabled)
            _flowWaits.Add(1, Queue(queue), Handler(handler), new("kind", kind));
    }

    internal void RunTime(string queue, string handler, JobOutcome outcome, TimeSpan elapsed)
    {
        if (_runTime.Enabled)
            _runTime.Record(elapsed.TotalSeconds, Queue(queue), Handler(handler), new("outcome", outcome switch
            {
                JobOutcome.Success => "success",
                JobOutcome.Retriable => "retriable",
                _ => "fatal",
            }));
    }

    /// <summary>A queue shard's waiting jobs as its last held-jobs report answered (replaces the shard's previous figures).</summary>
    internal void ReportDepth(string shard, ImmutableArray<WaitingCount> waiting) => _depth[shard] = waiting.IsDefault ? [] : waiting;

    private List<Measurement<long>> ObserveDepth()
    {
        var sums = new Dictionary<(string Queue, int Priority, string Tenant), long>();
        foreach (var (shard, counts) in _depth)
        {
            var queue = _queues.Of(shard[..Math.Max(0, shard.LastIndexOf('/'))]);
            foreach (var count in counts)
            {
                var key = (queue, count.Priority, count.Tenant is null ? Other : _tenants.Of(count.Tenant));
                sums[key] = sums.GetValueOrDefault(key) + count.Count;
            }
        }
        lock (_published)
        {
            _published.UnionWith(sums.Keys);
            return [.. _published.Select(key => new Measurement<long>(sums.GetValueOrDefault(key),
                new("queue", key.Queue), new("priority", key.Priority.ToString(CultureInfo.InvariantCulture)), new("tenant", key.Tenant)))];
        }
    }

    private KeyValuePair<string, object?> Queue(string queue) => new("queue", _queues.Of(queue));
    private KeyValuePair<string, object?> Handler(string handler) => new("handler", _handlers.Of(handler));
    private KeyValuePair<string, object?> Tenant(string tenant) => new("tenant", _tenants.Of(tenant));

    public void Dispose() => _meter.Dispose();

    /// <summary>The first <c>max</c> distinct values keep their name; later ones read <see cref="Other"/>.</summary>
    private sealed class TagLimit(int max)
    {
        private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);

        public string Of(string? value)
        {
            if (string.IsNullOrEmpty(value))
                return "";
            if (_known.TryGetValue(value, out var known))
                return known;
            // A race may admit a few more than max: the bound is on cardinality, not exact.
            return _known.Count >= max ? Other : _known.GetOrAdd(value, value);
        }
    }
}
