using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Scheduler.Tests.Infrastructure;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;

namespace Scheduler.Bench;

public sealed record BenchSettings(string Storage, int Jobs, string Mode, int Rate, int Capacity, int Batch, TimeSpan Timeout,
    string? Postgres = null, string? Redis = null, int Silos = 1, string? Workflows = null, int FailOncePercent = 0, int Kills = 3,
    TimeSpan LeasePeriod = default, TimeSpan Warmup = default, int Schedules = 1000, int Every = 10, TimeSpan Duration = default,
    int PruneRows = 1_000_000, int Keys = 0, int RateLimit = 60, int Window = 60, bool Metrics = false, string Ordering = "on", int Tenants = 1, bool Protection = false)
{
    /// <summary>Count grain calls, activations and database traffic per job and check them against the cost budget (<c>--counts</c>).</summary>
    public bool Counts { get; init; } = true;

    /// <summary>
    /// Schedules mode (<c>--spread</c>): <c>even</c> gives schedule i the start <c>i / N</c> of a period into a common
    /// anchor, so occurrences come at a steady rate; <c>creation</c> anchors each at its creation, so they come as
    /// bunched as the creations were (the shape before 2026-12-07's fifth session, for pairs with older code).
    /// </summary>
    public string Spread { get; init; } = "even";

    /// <summary>The silos' <c>Scheduler:ScheduleLead</c> (<c>--schedule-lead</c>); null: the default.</summary>
    public TimeSpan? ScheduleLead { get; init; }

    /// <summary>Fairness mode (<c>--trace</c>): stamp every job's path and report B's positions at each stage.</summary>
    public bool Trace { get; init; }

    public string? Validate() => this switch
    {
        { Tenants: < 1 or > 100_000 } => $"--tenants must be 1 to 100000 (was {Tenants})",
        { Tenants: > 1, Mode: not ("burst" or "paced" or "features") } => "--tenants applies to burst, paced and features mode",
        { Mode: "fairness", Workflows: not null } or { Mode: "fairness", FailOncePercent: > 0 } or { Mode: "fairness", Keys: > 0 } =>
            "--mode fairness takes no --workflows, --fail-once-percent or --keys",
        { Protection: true, Mode: not ("burst" or "paced") } => "--protection applies to burst and paced mode",
        { Mode: "features", Workflows: not null } or { Mode: "features", FailOncePercent: > 0 } or { Mode: "features", Silos: > 1 } =>
            "--mode features takes no --workflows, --fail-once-percent or --silos",
        { Keys: < 0 or > 1_000_000 } => $"--keys must be 0 to 1000000 (was {Keys})",
        { Keys: > 0, Workflows: not null } or { Keys: > 0, Mode: not ("burst" or "paced" or "keys") } => "--keys applies to jobs in burst, paced or keys mode",
        { Mode: "keys" or "mutex" or "ratelimit" or "rest", Workflows: not null } => $"--workflows does not apply to --mode {Mode}",
        { Mode: "rest", FailOncePercent: > 0 } => "--fail-once-percent does not apply to --mode rest",
        { Mode: "rest" } when Duration < TimeSpan.FromSeconds(5) || Duration > TimeSpan.FromHours(1) =>
            $"--duration must be 5 to 3600 seconds (was {Duration.TotalSeconds})",
        { Mode: "keys" or "mutex" or "ratelimit", FailOncePercent: > 0 } => $"--fail-once-percent does not apply to --mode {Mode}",
        { Mode: "ratelimit", RateLimit: < 1 or > FlowKeys.MaxRate } => $"--rate-limit must be 1 to {FlowKeys.MaxRate} (was {RateLimit})",
        { Mode: "ratelimit", Window: < 1 or > 3600 } => $"--window must be 1 to 3600 seconds (was {Window})",
        { Mode: "ratelimit" } when Duration.TotalSeconds < Window || Duration > TimeSpan.FromHours(2) =>
            $"--duration must be from --window ({Window}) to 7200 seconds (was {Duration.TotalSeconds})",
        { Workflows: not (null or "chain" or "diamond") } => $"--workflows must be chain or diamond (was {Workflows})",
        { Workflows: not null, Mode: "recovery" or "delayed" } => $"--workflows runs in burst or paced mode, not {Mode}",
        { FailOncePercent: > 0, Mode: "delayed" } => "--fail-once-percent applies to --mode burst and paced, not delayed",
        { Silos: < 1 or > 4 } => $"--silos must be 1 to 4 (was {Silos})",
        { FailOncePercent: < 0 or > 100 } => $"--fail-once-percent must be 0 to 100 (was {FailOncePercent})",
        { FailOncePercent: > 0, Workflows: not null } => "--fail-once-percent does not apply to --workflows",
        { FailOncePercent: > 0, Mode: "recovery" } => "--fail-once-percent applies to --mode burst and paced, not recovery",
        { Mode: "schedules", Workflows: not null } => "--workflows does not apply to --mode schedules",
        { Mode: "schedules", Schedules: < 1 or > 100_000 } => $"--schedules must be 1 to 100000 (was {Schedules})",
        { Mode: "schedules", Every: < 1 or > 3600 } => $"--every must be 1 to 3600 seconds (was {Every})",
        { Mode: "schedules" } when Duration < TimeSpan.FromSeconds(1) || Duration > TimeSpan.FromHours(1) =>
            $"--duration must be 1 to 3600 seconds (was {Duration.TotalSeconds})",
        { Mode: "recovery", Storage: not "postgres" } => "--mode recovery runs silo processes on shared storage: use --storage postgres",
        { Mode: "recovery", Silos: < 2 } => $"--mode recovery kills one silo, so it needs --silos 2 or more (was {Silos})",
        { Mode: "recovery", Kills: < 1 or > 100 } => $"--kills must be 1 to 100 (was {Kills})",
        { Mode: "recovery" } when LeasePeriod < TimeSpan.FromSeconds(1) || LeasePeriod > TimeSpan.FromMinutes(10) =>
            $"--lease-period must be 1 to 600 seconds (was {LeasePeriod.TotalSeconds})",
        { Mode: "recovery" } when Jobs > (Silos - 1) * Capacity =>
            $"--mode recovery runs every job at once, and the survivors of a kill need room for the killed silo's jobs: " +
            $"--jobs ({Jobs}) must be at most (--silos - 1) × --capacity ({(Silos - 1) * Capacity})",
        { Mode: "backlog", Storage: not "postgres" } => "--mode backlog measures a backlog on PostgreSQL: use --storage postgres",
        { Mode: "backlog", Silos: not 1 } => $"--mode backlog runs one silo (was --silos {Silos})",
        { Mode: "backlog", Workflows: not null } or { Mode: "backlog", FailOncePercent: > 0 } or { Mode: "backlog", Keys: > 0 } =>
            "--mode backlog takes no --workflows, --fail-once-percent or --keys",
        { Mode: "retention", Storage: not "postgres" } => "--mode retention measures pruning on PostgreSQL: use --storage postgres",
        { Mode: "retention", Silos: not 1 } => $"--mode retention runs one silo (was --silos {Silos})",
        { Mode: "retention", PruneRows: < 1 or > 100_000_000 } => $"--prune-rows must be 1 to 100000000 (was {PruneRows})",
        { Workflows: not null, Mode: "retention" } => "--workflows runs in burst or paced mode, not retention",
        { FailOncePercent: > 0, Mode: "retention" } => "--fail-once-percent applies to --mode burst and paced, not retention",
        { Silos: > 1, Storage: not "postgres" } => "--silos above 1 needs shared storage: use --storage postgres",
        { Postgres: not null, Storage: not "postgres" } => "--postgres only applies to --storage postgres",
        { Jobs: < 1 } => $"--jobs must be at least 1 (was {Jobs})",
        { Rate: < 1 } => $"--rate must be at least 1 (was {Rate})",
        { Warmup.TotalSeconds: < 0 or > 600 } => $"--warmup must be 0 to 600 seconds (was {Warmup.TotalSeconds})",
        { Capacity: < 1 or > 100_000 } => $"--capacity must be 1 to 100000 (was {Capacity})",
        { Batch: < 1 or > 10_000 } => $"--batch must be 1 to 10000 (was {Batch})",
        _ => null,
    };
}

/// <summary>Records when each job's handler started and how often it ran.</summary>
public sealed class Recorder
{
    // Striped wider than the default (one lock per core): every job's handler writes both, and on a busy host their
    // locks showed in the profile as the bench's own contention.
    public readonly ConcurrentDictionary<Guid, long> StartTicks;
    public readonly ConcurrentDictionary<Guid, int> Runs;
    /// <summary>When each job's handler returned (<see cref="RecordingSpanHandler"/> only).</summary>
    public readonly ConcurrentDictionary<Guid, long> EndTicks = new();

    /// <param name="capacity">The jobs expected, so that the dictionaries need not grow while handlers write them.</param>
    public Recorder(int capacity = 1024)
    {
        StartTicks = new(concurrencyLevel: 64, capacity: capacity);
        Runs = new(concurrencyLevel: 64, capacity: capacity);
    }
}

/// <summary>
/// Succeeds at once, except that the first attempt of a job whose payload is <see cref="FailOncePayload"/> returns a
/// retriable failure (<c>--fail-once-percent</c>) that asks to be retried at once, so that a retry policy's backoff does
/// not enter the figure: its second attempt succeeds.
/// </summary>
public sealed class RecordingNoopHandler(Recorder recorder) : IJobHandler
{
    public const string Name = "bench.noop";

    public const byte FailOncePayload = 1;

    public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        recorder.StartTicks.TryAdd(context.Id.Value, Stopwatch.GetTimestamp());
        recorder.Runs.AddOrUpdate(context.Id.Value, 1, (_, n) => n + 1);
        if (context.Attempt == 1 && context.Payload.Length == 1 && context.Payload.Span[0] == FailOncePayload)
            return Task.FromResult(JobResult.Retry("bench: fails once", after: TimeSpan.Zero)); // at once: no backoff in the figure
        return Task.FromResult(JobResult.Success());
    }
}

/// <summary>Succeeds at once, recording when it started and when it returned (flow control's mutex and rate modes).</summary>
public sealed class RecordingSpanHandler(Recorder recorder) : IJobHandler
{
    public const string Name = "bench.span";

    public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        recorder.StartTicks.TryAdd(context.Id.Value, Stopwatch.GetTimestamp());
        recorder.Runs.AddOrUpdate(context.Id.Value, 1, (_, n) => n + 1);
        recorder.EndTicks[context.Id.Value] = Stopwatch.GetTimestamp();
        return Task.FromResult(JobResult.Success());
    }
}

public static class Bench
{
    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        // The schedules mode records every firing of its run: sized for them up front, so the recorder's and the probe's
        // dictionaries do not grow (a resize locks every writer, the handlers' starts among them) in the measured window.
        var expectedJobs = s.Mode switch
        {
            "schedules" => s.Schedules * (int)(s.Duration.TotalSeconds / s.Every + 4) + 20_000,
            "fairness" => s.Jobs + 20_000 + 10,
            _ => 1024,
        };
        var recorder = new Recorder(expectedJobs);
        var dataDir = Path.Combine(Path.GetTempPath(), $"scheduler-bench-{Guid.NewGuid():N}");
        var serviceId = $"bench-{Guid.NewGuid():N}";

        // Throwaway servers when none were given: PostgreSQL (fsync and synchronous_commit on) and, for several silos, Redis.
        await using var postgresLease = s.Storage == "postgres" && s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var postgres = s.Postgres ?? (postgresLease is null ? null : await postgresLease.Server.CreateDatabaseAsync("bench", ct));
        await using var redisServer = s.Silos > 1 && s.Redis is null ? await RedisServer.StartAsync(ct) : null;
        var redis = s.Redis ?? redisServer?.ConnectionString;

        // Flow control's modes count grain calls and database commands per job as well as timing them.
        // So do bursts and paced runs, against the per-job cost budget (CostBudget).
        // Counting is not free (a grain call filter makes Orleans allocate per call): --counts off measures without it.
        using var flowCounters = s.Mode is "keys" or "mutex" or "ratelimit" || (s.Mode is "burst" or "paced" && s.Counts) ? new FlowCounters() : null;
        // Due-time modes split each job's lateness into the stages of its path.
        using var stages = s.Mode is "schedules" or "delayed" || (s.Mode == "fairness" && s.Trace) ? new StageProbe(expectedJobs) : null;
        var silos = new List<IHost>();
        var gateways = new List<string>();
        for (var i = 0; i < s.Silos; i++)
        {
            var (siloPort, gatewayPort) = (FreePort(), FreePort());
            gateways.Add($"127.0.0.1:{gatewayPort}");
            var siloBuilder = Host.CreateApplicationBuilder();
            siloBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (s.Metrics)
                siloBuilder.Services.AddSchedulerTelemetry(new Scheduler.Telemetry.TelemetryOptions { Prometheus = true });
            siloBuilder.UseOrleans(silo =>
            {
                if (redis is null)
                {
                    silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: serviceId);
                }
                else
                {
                    silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (serviceId, serviceId));
                    silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: false);
                    silo.UseRedisClustering(redis);
                }
                silo.AddScheduler(o =>
                {
                    o.MaxConcurrentJobs = s.Capacity;
                    o.PullBatchSize = Math.Min(1000, s.Capacity);
                    if (s.ScheduleLead is { } lead)
                        o.ScheduleLead = lead;
                    // The retention mode prunes when it measures, not when the silo's reminder would.
                    o.Retention.Enabled = s.Mode != "retention";
                    o.Ordering.FairShare = s.Ordering == "on";
                    if (s.Ordering == "on")
                        o.Ordering.Aging[JobRequest.DefaultQueue] = new Scheduler.Queues.AgingOptions { PointsPerMinute = 1, MaxBoost = 10 };
                    if (s.Protection)
                    {
                        // Everything on, nothing tripped: every submit is admitted against counted backlogs, every
                        // outcome goes to a breaker, every start checks the paused gate (another tenant's).
                        o.Backpressure.MaxQueuedPerQueue = 10_000_000;
                        o.Backpressure.MaxQueuedPerTenant = 10_000_000;
                        o.Breakers.Handlers[RecordingNoopHandler.Name] = new Scheduler.Protection.BreakerSettings { ConsecutiveFailures = 10_000, FailureRatio = 1 };
                    }
                });
                switch (s.Storage)
                {
                    case "embedded":
                        silo.UseEmbeddedSchedulerStorage(dataDir, serviceId);
                        break;
                    case "postgres":
                        silo.UsePostgresSchedulerStorage(postgres!, serviceId);
                        break;
                    default:
                        silo.UseInMemorySchedulerStorage();
                        break;
                }
                silo.Services.AddSingleton(recorder);
                if (flowCounters is not null)
                    silo.AddIncomingGrainCallFilter(flowCounters);
                if (stages is not null)
                {
                    silo.AddIncomingGrainCallFilter(stages);
                    if (s.Mode == "fairness")
                        silo.AddOutgoingGrainCallFilter(stages);
                }
                silo.Services.AddJobHandler<RecordingNoopHandler>(RecordingNoopHandler.Name);
                silo.Services.AddJobHandler<RecordingSpanHandler>(RecordingSpanHandler.Name);
            });
            var host = siloBuilder.Build();
            await host.StartAsync(ct);
            silos.Add(host);
        }
        var silo = silos[0];

        var clientBuilder = Host.CreateApplicationBuilder();
        clientBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
        clientBuilder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = gateways;
            o.RedisConnectionString = redis;
            o.ClusterId = serviceId;
            o.ServiceId = serviceId;
            o.SubmitBatchSize = s.Batch;
        });
        using var clientHost = clientBuilder.Build();
        await clientHost.StartAsync(ct);
        var client = clientHost.Services.GetRequiredService<ISchedulerClient>();

        // Warm up code paths (JIT tiers, first activations) so the figures measure the steady state.
        var warmCount = Math.Clamp(s.Jobs / 5, 200, 20_000);
        var warm = await client.SubmitManyAsync([.. Enumerable.Range(0, warmCount).Select(_ => new JobRequest { Handler = "noop" })], ct);
        await WaitForSucceededAsync(client, warm.Count, DateTime.UtcNow + TimeSpan.FromSeconds(120), ct);
        var warmedUp = warm.Count;
        if (s.Protection)
            await client.PauseGateAsync("tenant:bench-paused", "benchmark: a paused gate every start checks", ct);

        if (s.Mode == "delayed")
        {
            var ok = await DelayedBench.RunAsync(client, s, recorder, stages!, warmedUp, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Mode == "schedules")
        {
            var ok = await ScheduleBench.RunAsync(client, s, recorder, stages!, postgres, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Mode == "retention")
        {
            var ok = await RetentionBench.RunAsync(client, s, silo, postgres!, serviceId, recorder, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Mode == "fairness")
        {
            var ok = await FairnessBench.RunAsync(client, s, recorder, stages, warmedUp, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Mode == "rest")
        {
            var ok = await RestBench.RunAsync(client, s, gateways, redis, serviceId, warmedUp, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Mode is "keys" or "mutex" or "ratelimit")
        {
            var ok = await FlowBench.RunAsync(client, s, recorder, flowCounters!, warmedUp, postgres, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        if (s.Workflows is not null)
        {
            var ok = await WorkflowBench.RunAsync(client, s, warm.Count, ct);
            await StopAsync();
            return ok ? 0 : 1;
        }

        // Paced mode warms up the paced path itself, at the measured rate: single submits, the recording handler, and
        // enough time for the runtime to recompile what is hot (tiered JIT) and the connection pools to grow. Those
        // seconds are reported on their own and left out of the figures.
        double[] warmLatencies = [];
        if (s.Mode == "paced" && s.Warmup > TimeSpan.Zero)
        {
            var warmRequests = Enumerable.Range(0, (int)Math.Ceiling(s.Warmup.TotalSeconds * s.Rate))
                .Select(_ => new JobRequest { Handler = RecordingNoopHandler.Name, Id = JobId.New() }).ToArray();
            var warmTicks = new ConcurrentDictionary<Guid, long>();
            await SubmitPacedAsync(client, warmRequests, s.Rate, warmTicks, _ => { }, ct);
            await WaitForSucceededAsync(client, warmedUp + warmRequests.Length, DateTime.UtcNow + TimeSpan.FromSeconds(120), ct);
            warmLatencies = Latencies(warmRequests, warmTicks, recorder);
            warmedUp += warmRequests.Length;
        }

        using var memory = new PeakWorkingSet();
        // The database server's CPU over the same window, where it runs on this machine: the cores are shared.
        var database = s.Storage == "postgres" && s.Mode is "burst" or "paced" ? await ServerCpu.FindAsync(postgres, ct) : null;
        var databaseBefore = database?.Seconds();
        var runtime = new RuntimeCounters();
        var countsBefore = flowCounters?.Take();
        var recordedBefore = recorder.StartTicks.Count;
        var submitTicks = new ConcurrentDictionary<Guid, long>();
        var acceptTicks = new ConcurrentDictionary<Guid, long>();
        // With --fail-once-percent, every (100 / percent)-th job, spread evenly, fails its first attempt.
        var failOnce = Enumerable.Range(0, s.Jobs).Select(i => (long)(i + 1) * s.FailOncePercent / 100 > (long)i * s.FailOncePercent / 100).ToArray();
        var requests = Enumerable.Range(0, s.Jobs).Select(i => new JobRequest
        {
            Handler = RecordingNoopHandler.Name,
            Id = JobId.New(),
            Payload = failOnce[i] ? [RecordingNoopHandler.FailOncePayload] : [],
            Tenant = s.Tenants > 1 ? $"tenant-{i % s.Tenants}" : JobRequest.DefaultTenant,
            // With --keys N, job i holds the mutex "bench:i mod N" (flow control's cost, against the same run without).
            Concurrency = s.Keys > 0 ? [new ConcurrencyKey($"bench:{i % s.Keys}")] : [],
        }).ToArray();
        var accepted = 0;
        var first = Stopwatch.GetTimestamp();
        if (s.Mode == "burst")
        {
            using var gate = new SemaphoreSlim(4);
            var calls = requests.Chunk(s.Batch).Select(async chunk =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var t = Stopwatch.GetTimestamp();
                    foreach (var r in chunk)
                        submitTicks[r.Id!.Value.Value] = t;
                    var results = await client.SubmitManyAsync(chunk, ct);
                    Interlocked.Add(ref accepted, results.Count);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            await Task.WhenAll(calls);
        }
        else
        {
            await SubmitPacedAsync(client, requests, s.Rate, submitTicks, id =>
            {
                acceptTicks[id] = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref accepted);
            }, ct);
        }
        var submitted = Stopwatch.GetTimestamp();

        // Completion is what the scheduler reports as durably Succeeded, not what the handler saw.
        var pool = silo.Services.GetRequiredService<Scheduler.Workers.WorkerPool>();
        long succeeded;
        // Should the wait drag on, say every few seconds what the first silo's pool sees (a stall shows there first).
        using (new Timer(_ => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff}] still waiting: {pool.Describe()}"), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)))
        {
            var deadline = DateTime.UtcNow + s.Timeout;
            // The count cannot be complete before every handler has started: wait for that in process first, so that
            // the count query (on PostgreSQL a scan of the job rows, back to back every 20 ms) does not take the cores
            // from the jobs it measures.
            while (recorder.StartTicks.Count < recordedBefore + s.Jobs && DateTime.UtcNow < deadline)
                await Task.Delay(20, ct);
            succeeded = await WaitForSucceededAsync(client, s.Jobs + warmedUp, deadline, ct);
        }
        var last = Stopwatch.GetTimestamp();
        var allocatedPerJob = runtime.AllocatedSince / (double)s.Jobs;
        var costs = flowCounters?.Take().Costs(countsBefore!, s.Jobs, runtime.AllocatedSince);
        var (budget, overBudget) = costs is not null && CostBudget.Applies(s) ? CostBudget.Check(s.Storage, costs) : (null, []);
        var gcCounts = runtime.Since();
        var cpu = runtime.CpuSince;
        var completed = (int)Math.Max(0, succeeded - warmedUp);

        var latencies = Latencies(requests, submitTicks, recorder);
        var acceptLatencies = requests.Where(r => acceptTicks.ContainsKey(r.Id!.Value.Value))
            .Select(r => (acceptTicks[r.Id!.Value.Value] - submitTicks[r.Id!.Value.Value]) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        var requestIds = requests.Select(r => r.Id!.Value.Value).ToHashSet();
        var expectedRuns = requests.Select((r, i) => (r.Id!.Value.Value, Runs: failOnce[i] ? 2 : 1)).ToDictionary(x => x.Value, x => x.Runs);
        var duplicates = recorder.Runs.Where(kv => requestIds.Contains(kv.Key)).Sum(kv => Math.Max(0, kv.Value - expectedRuns[kv.Key]));
        var failedOnce = failOnce.Count(f => f);
        var retried = recorder.Runs.Count(kv => requestIds.Contains(kv.Key) && kv.Value > 1);
        var lost = s.Jobs - completed;
        var seconds = (last - first) / (double)Stopwatch.Frequency;

        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var management = clientHost.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var stats2 = await management.GetSimpleGrainStatistics();
        var jobActivations = stats2.Where(g => g.GrainType.Contains(nameof(JobGrain), StringComparison.Ordinal)).Sum(g => g.ActivationCount);

        var result = new
        {
            storage = s.Storage,
            silos = s.Silos,
            mode = s.Mode,
            jobs = s.Jobs,
            completed,
            lost,
            duplicates,
            fail_once_percent = s.FailOncePercent,
            keys = s.Keys,
            metrics = s.Metrics,
            ordering = s.Ordering,
            tenants = s.Tenants,
            failed_once = failedOnce,
            retried,
            jobs_per_sec = Math.Round(completed / seconds, 1),
            start_latency_ms = new { p50 = Percentile(latencies, 0.50), p95 = Percentile(latencies, 0.95), p99 = Percentile(latencies, 0.99) },
            accept_latency_ms = acceptLatencies.Length == 0 ? null : new { p50 = Percentile(acceptLatencies, 0.50), p99 = Percentile(acceptLatencies, 0.99) },
            submit_seconds = Math.Round((submitted - first) / (double)Stopwatch.Frequency, 3),
            total_seconds = Math.Round(seconds, 3),
            rate = s.Mode == "paced" ? s.Rate : (int?)null,
            warmup = warmLatencies.Length == 0 ? null : new
            {
                seconds = s.Warmup.TotalSeconds,
                jobs = warmLatencies.Length,
                start_latency_ms = new { p50 = Percentile(warmLatencies, 0.50), p99 = Percentile(warmLatencies, 0.99) },
            },
            capacity = s.Capacity,
            accepted,
            peak_working_set_mb = Math.Round(memory.PeakBytes / 1024.0 / 1024.0, 1),
            job_grain_activations_after = jobActivations,
            allocated_bytes_per_job = Math.Round(allocatedPerJob),
            cpu_ms_per_job = Math.Round(cpu.TotalMilliseconds / Math.Max(1, completed), 4),
            gc = gcCounts,
            database_cpu_ms_per_job = database is null ? (double?)null : Math.Round((database.Seconds() - databaseBefore!.Value) * 1000 / s.Jobs, 3),
            cost_per_job = costs is null ? null : new
            {
                grain_calls = costs.GrainCalls,
                activations = costs.Activations,
                db_commands = costs.DbCommands,
                db_bytes_sent = costs.DbBytesSent,
                db_bytes_received = costs.DbBytesReceived,
                allocated_kb = costs.AllocatedKb,
                by_method = costs.ByMethod,
            },
            budget,
        };
        Console.Error.WriteLine($"{s.Mode} {s.Storage}: {completed}/{s.Jobs} completed in {seconds:0.00} s = {result.jobs_per_sec} jobs/s; " +
            $"start latency p50 {result.start_latency_ms.p50} ms, p99 {result.start_latency_ms.p99} ms; lost {lost}, duplicates {duplicates}; " +
            (s.FailOncePercent > 0 ? $"{failedOnce} jobs failed their first attempt, {retried} ran again; " : "") +
            $"peak working set {result.peak_working_set_mb} MiB; job activations left {jobActivations}" +
            (overBudget.Length > 0 ? $"; OVER the per-job cost budget (docs/cost-budget.md): {string.Join(", ", overBudget)}" : ""));
        Console.WriteLine(JsonSerializer.Serialize(result));

        await StopAsync();
        return lost != 0 || duplicates != 0 ? 1 : overBudget.Length > 0 ? CostBudget.OverBudgetExitCode : 0;

        async Task StopAsync()
        {
            await clientHost.StopAsync(CancellationToken.None);
            foreach (var host in silos)
            {
                await host.StopAsync(CancellationToken.None);
                host.Dispose();
            }
            try { Directory.Delete(dataDir, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    /// <summary>Polls the cluster's counts (one cheap call each 20 ms) until <paramref name="expected"/> jobs have succeeded.</summary>
    internal static async Task<long> WaitForSucceededAsync(ISchedulerClient client, int expected, DateTime deadline, CancellationToken ct)
    {
        long succeeded = 0;
        while (DateTime.UtcNow < deadline)
        {
            var stats = await client.GetStatsAsync(ct);
            succeeded = stats.ByState.GetValueOrDefault(JobState.Succeeded);
            if (succeeded >= expected)
                break;
            await Task.Delay(20, ct);
        }
        return succeeded;
    }

    /// <summary>Submits one request at a time, at <paramref name="rate"/> per second, noting when each was sent.</summary>
    private static async Task SubmitPacedAsync(ISchedulerClient client, JobRequest[] requests, int rate,
        ConcurrentDictionary<Guid, long> submitTicks, Action<Guid> onAccepted, CancellationToken ct)
    {
        var pending = new List<Task>(requests.Length);
        var first = Stopwatch.GetTimestamp();
        var interval = Stopwatch.Frequency / (double)rate;
        for (var i = 0; i < requests.Length; i++)
        {
            var due = first + (long)(i * interval);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 1000)
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct);
            var request = requests[i];
            submitTicks[request.Id!.Value.Value] = Stopwatch.GetTimestamp();
            pending.Add(SubmitOneAsync(client, request, onAccepted, ct));
        }
        await Task.WhenAll(pending);
    }

    /// <summary>Submit to handler start, in milliseconds, sorted, for the requests whose handler ran.</summary>
    private static double[] Latencies(JobRequest[] requests, ConcurrentDictionary<Guid, long> submitTicks, Recorder recorder) =>
        requests
            .Where(r => recorder.StartTicks.ContainsKey(r.Id!.Value.Value))
            .Select(r => (recorder.StartTicks[r.Id!.Value.Value] - submitTicks[r.Id!.Value.Value]) * 1000.0 / Stopwatch.Frequency)
            .Order().ToArray();

    private static async Task SubmitOneAsync(ISchedulerClient client, JobRequest request, Action<Guid> onAccepted, CancellationToken ct)
    {
        await client.SubmitAsync(request, ct);
        onAccepted(request.Id!.Value.Value);
    }

    internal static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal sealed class PeakWorkingSet : IDisposable
    {
        private readonly Timer _timer;
        private long _peak;

        public PeakWorkingSet() => _timer = new Timer(_ =>
        {
            var now = Environment.WorkingSet;
            if (now > Interlocked.Read(ref _peak))
                Interlocked.Exchange(ref _peak, now);
        }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));

        public long PeakBytes => Math.Max(Interlocked.Read(ref _peak), Environment.WorkingSet);

        public void Dispose() => _timer.Dispose();
    }
}
