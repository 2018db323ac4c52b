using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Bench;

/// <summary>
/// A large backlog on PostgreSQL (<c>--mode backlog</c>): one silo whose <c>--capacity</c> slots are held by long jobs,
/// then <c>--jobs</c> waiting jobs submitted through the SDK (4 tenants, 2 handlers; 0.1% at priority 90, 0.2% at 70,
/// the rest at 50), after a warm-up of 5% (at most 5,000) not timed. Measures the submit rate of the first and the
/// last tenth of the jobs (an almost empty queue against a full one), the process's peak working set (silo, client and this benchmark), listing latency through the SDK and
/// REST with the filters users use at the full backlog, and a full restart: the silo stopped and started again, how
/// long until each shard answers with its head, until the first waiting job starts, and until every shard has read
/// all its rows; then a tenth of the backlog (at most 10,000) runs, the hold released, checking strict priority and
/// exactly once.
/// </summary>
public static class BacklogBench
{
    private const int InFlightBatches = 4;
    private const int ListingsPerFilter = 100;
    private static readonly string[] Handlers = ["bench.backlog", "bench.backlog2"];

    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        var serviceId = $"bench-backlog-{Guid.NewGuid():N}"[..32];
        await using var postgresLease = s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var postgres = s.Postgres ?? await postgresLease!.Server.CreateDatabaseAsync("bench", ct);
        // Printed so the listings' plans can be looked at (EXPLAIN) while the backlog is there.
        Console.Error.WriteLine($"postgres: {postgres}");
        var (siloPort, gatewayPort) = (Bench.FreePort(), Bench.FreePort());
        var recorder = new BacklogRecorder();
        using var memory = new Bench.PeakWorkingSet();

        var silo = await StartSiloAsync(siloPort, gatewayPort, serviceId, postgres, s.Capacity, recorder, ct);
        var clientHost = await StartClientAsync(gatewayPort, serviceId, s.Batch, ct);
        var client = clientHost.Services.GetRequiredService<ISchedulerClient>();

        // Every slot held, so everything after waits.
        await client.SubmitManyAsync([.. Enumerable.Range(0, s.Capacity).Select(_ => new JobRequest { Handler = HoldHandler.Name, Priority = 100 })], ct);
        await RecoveryBenchWait(async () => (await client.GetStatsAsync(ct)).ByState.GetValueOrDefault(JobState.Running) >= s.Capacity,
            TimeSpan.FromMinutes(2), "every slot held", ct);

        // Warm-up (code paths, connection pools), part of the backlog but not timed.
        var warm = Math.Min(5_000, s.Jobs / 20);
        foreach (var chunk in Enumerable.Range(s.Jobs, warm).Chunk(s.Batch))
            await client.SubmitManyAsync([.. chunk.Select(Request)], ct);

        // Submit: the first and last tenths timed apart (the first is nearly an empty queue, the last meets the full one).
        var window = Math.Max(s.Batch, s.Jobs / 10 / s.Batch * s.Batch);
        var batches = (s.Jobs + s.Batch - 1) / s.Batch;
        var batchDone = new long[batches];
        var submitStart = Stopwatch.GetTimestamp();
        var createdMiddle = DateTimeOffset.MinValue;
        await Parallel.ForEachAsync(Enumerable.Range(0, batches), new ParallelOptions { MaxDegreeOfParallelism = InFlightBatches, CancellationToken = ct }, async (b, token) =>
        {
            var count = Math.Min(s.Batch, s.Jobs - b * s.Batch);
            var requests = Enumerable.Range(b * s.Batch, count).Select(Request).ToArray();
            await client.SubmitManyAsync(requests, token);
            batchDone[b] = Stopwatch.GetTimestamp();
            if (b == batches / 2)
                createdMiddle = DateTimeOffset.UtcNow;
        });
        var submitSeconds = Stopwatch.GetElapsedTime(submitStart).TotalSeconds;
        var firstBatches = window / s.Batch;
        var firstRate = firstBatches * s.Batch / ((batchDone.Take(firstBatches).Max() - submitStart) / (double)Stopwatch.Frequency);
        var lastFrom = batches - firstBatches;
        var lastStart = batchDone.Take(lastFrom).OrderDescending().Skip(InFlightBatches - 1).FirstOrDefault(submitStart);
        var lastRate = (s.Jobs - lastFrom * s.Batch) / ((batchDone.Max() - lastStart) / (double)Stopwatch.Frequency);
        Console.Error.WriteLine($"submitted {s.Jobs} in {submitSeconds:0.0} s: first {window} at {firstRate:0} jobs/s, last at {lastRate:0} jobs/s");

        var management = clientHost.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var jobActivations = (await management.GetSimpleGrainStatistics()).Where(g => g.GrainType.Contains("JobGrain", StringComparison.Ordinal)).Sum(g => g.ActivationCount);
        GC.Collect();
        var heapAfterSubmitMb = Math.Round(GC.GetTotalMemory(true) / 1048576.0, 1);
        var workingSetAfterSubmitMb = Math.Round(Environment.WorkingSet / 1048576.0, 1);
        var peakSubmitMb = Math.Round(memory.PeakBytes / 1048576.0, 1);
        Console.Error.WriteLine($"after submit: working set {workingSetAfterSubmitMb} MiB (peak {peakSubmitMb}), managed heap {heapAfterSubmitMb} MiB, job activations {jobActivations}");

        // Listings at the full backlog, through the SDK and through REST.
        var listings = await MeasureListingsAsync(client, gatewayPort, serviceId, createdMiddle, ct);

        // A full restart: stop the silo (its held jobs are cancelled and queued again), start a new one on the same rows.
        await clientHost.StopAsync(CancellationToken.None);
        clientHost.Dispose();
        await silo.StopAsync(CancellationToken.None);
        silo.Dispose();
        // Only starts after the restart count for its figures. A hold whose lease ran out in a long stall of the host
        // gives its slot to waiting jobs before the restart: counted apart.
        var startedBeforeRestart = recorder.Restart();
        recorder.Release();
        var restartBegin = Stopwatch.GetTimestamp();
        silo = await StartSiloAsync(siloPort, gatewayPort, serviceId, postgres, s.Capacity, recorder, ct);
        var healthy = Stopwatch.GetTimestamp();
        clientHost = await StartClientAsync(gatewayPort, serviceId, s.Batch, ct);
        client = clientHost.Services.GetRequiredService<ISchedulerClient>();
        var grains = clientHost.Services.GetRequiredService<IClusterClient>();
        var shards = new SchedulerOptions().ShardsPerQueue;
        var serve = await Task.WhenAll(Enumerable.Range(0, shards).Select(i => FirstHeadAsync(grains.GetGrain<IQueueShardGrain>(SchedulerOptions.ShardKey(JobRequest.DefaultQueue, i)), healthy, ct)));
        var firstStartMs = await WaitForAsync(() => recorder.FirstStart, healthy, ct);

        // Run a tenth of the backlog: strict priority in start order, each job once.
        var drain = Math.Clamp(s.Jobs / 10, 1, 10_000);
        await RecoveryBenchWait(() => Task.FromResult(recorder.Starts.Count >= drain), s.Timeout, $"{drain} jobs started after the restart", ct);
        var drainSeconds = Stopwatch.GetElapsedTime(healthy).TotalSeconds;
        var starts = recorder.Starts.ToArray();
        var inversions = Inversions(starts, s.Capacity);
        var duplicates = recorder.Runs.Values.Sum(n => Math.Max(0, n - 1));
        var peakMb = Math.Round(memory.PeakBytes / 1048576.0, 1);

        await clientHost.StopAsync(CancellationToken.None);
        clientHost.Dispose();
        await silo.StopAsync(CancellationToken.None);
        silo.Dispose();

        var result = new
        {
            mode = "backlog",
            storage = "postgres",
            jobs = s.Jobs,
            warmup_jobs = warm,
            capacity = s.Capacity,
            submit = new
            {
                seconds = Math.Round(submitSeconds, 1),
                jobs_per_sec = Math.Round(s.Jobs / submitSeconds, 1),
                first_window_jobs = window,
                first_jobs_per_sec = Math.Round(firstRate, 1),
                last_jobs_per_sec = Math.Round(lastRate, 1),
                last_to_first = Math.Round(lastRate / firstRate, 2),
            },
            memory_mb = new { peak_working_set = peakMb, working_set_after_submit = workingSetAfterSubmitMb, managed_heap_after_submit = heapAfterSubmitMb },
            job_grain_activations_after_submit = jobActivations,
            listings,
            restart = new
            {
                silo_start_ms = Math.Round((healthy - restartBegin) * 1000.0 / Stopwatch.Frequency),
                shard_head_ms = new { max = serve.Max(x => x.Head), each = serve.Select(x => x.Head) },
                first_start_ms = firstStartMs,
                started_before_restart = startedBeforeRestart,
                drained = starts.Length,
                drain_jobs_per_sec = Math.Round(starts.Length / drainSeconds, 1),
                priority_inversions = inversions,
                duplicates,
                starts_by_priority = starts.GroupBy(x => x.Priority).OrderByDescending(g => g.Key).ToDictionary(g => g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), g => g.Count()),
            },
        };
        Console.Error.WriteLine($"backlog {s.Jobs}: submit last/first {result.submit.last_to_first}; peak working set {peakMb} MiB; " +
            $"restart: heads within {result.restart.shard_head_ms.max} ms, first start {firstStartMs} ms after healthy; inversions {inversions}, duplicates {duplicates}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return inversions == 0 && duplicates == 0 ? 0 : 1;

        JobRequest Request(int i) => new()
        {
            Handler = Handlers[i % 2],
            Tenant = $"tenant-{i % 4}",
            Priority = PriorityOf(i),
            Payload = [(byte)PriorityOf(i)],
        };
    }

    private static int PriorityOf(int i) => (i % 1000) switch { 0 => 90, 1 or 2 => 70, _ => 50 };

    /// <summary>
    /// Starts of a job below a priority still to start later: a start counts when a job of higher priority starts more
    /// than a pull's worth of starts (the slots) after it (jobs of one pull start in any order).
    /// </summary>
    private static int Inversions((JobId Id, int Priority)[] starts, int slots)
    {
        var inversions = 0;
        var bestLater = new int[starts.Length + 1];
        for (var i = starts.Length - 1; i >= 0; i--)
            bestLater[i] = Math.Max(bestLater[i + 1], starts[i].Priority);
        for (var i = 0; i + slots < starts.Length; i++)
        {
            if (bestLater[i + slots] > starts[i].Priority)
                inversions++;
        }
        return inversions;
    }

    private static async Task<object> MeasureListingsAsync(ISchedulerClient client, int gatewayPort, string serviceId, DateTimeOffset createdMiddle, CancellationToken ct)
    {
        var filters = new (string Name, JobFilter Filter, string Query)[]
        {
            ("newest", new JobFilter(), ""),
            ("state", new JobFilter { State = JobState.Queued }, "state=Queued"),
            ("state_rare", new JobFilter { State = JobState.Failed }, "state=Failed"),
            // No index holds state (schema 14): Running is read among the jobs the silos run, finished states through
            // their own index, whatever the backlog.
            ("state_running", new JobFilter { State = JobState.Running }, "state=Running"),
            ("state_running_tenant", new JobFilter { State = JobState.Running, Tenant = "tenant-1" }, "state=Running&tenant=tenant-1"),
            ("state_succeeded", new JobFilter { State = JobState.Succeeded }, "state=Succeeded"),
            ("queue", new JobFilter { Queue = JobRequest.DefaultQueue }, "queue=default"),
            ("tenant", new JobFilter { Tenant = "tenant-1" }, "tenant=tenant-1"),
            ("handler", new JobFilter { Handler = Handlers[1] }, $"handler={Handlers[1]}"),
            ("handler_rare", new JobFilter { Handler = HoldHandler.Name }, $"handler={HoldHandler.Name}"),
            ("state_tenant", new JobFilter { State = JobState.Queued, Tenant = "tenant-2" }, "state=Queued&tenant=tenant-2"),
            ("state_handler", new JobFilter { State = JobState.Queued, Handler = Handlers[0] }, $"state=Queued&handler={Handlers[0]}"),
            ("queue_tenant_handler", new JobFilter { Queue = JobRequest.DefaultQueue, Tenant = "tenant-3", Handler = Handlers[1] }, $"queue=default&tenant=tenant-3&handler={Handlers[1]}"),
            ("created_before", new JobFilter { After = new JobListPosition(createdMiddle, new JobId(Guid.Empty)) }, ""),
            ("tenant_created_before", new JobFilter { Tenant = "tenant-0", After = new JobListPosition(createdMiddle, new JobId(Guid.Empty)) }, ""),
        };
        var sdk = new Dictionary<string, object>();
        var all = new List<double>();
        foreach (var (name, filter, _) in filters)
        {
            var ms = new List<double>();
            for (var i = 0; i < ListingsPerFilter; i++)
            {
                var t = Stopwatch.GetTimestamp();
                await client.ListAsync(filter, ct);
                ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            all.AddRange(ms);
            sdk[name] = Summary(ms);
        }

        // Cursor paging: 50 pages of 100 from the newest, each page after the last one's row.
        var paging = new List<double>();
        for (var round = 0; round < 2; round++)
        {
            JobListPosition? after = null;
            for (var page = 0; page < 50; page++)
            {
                var t = Stopwatch.GetTimestamp();
                var rows = await client.ListAsync(new JobFilter { State = JobState.Queued, Tenant = "tenant-1", After = after }, ct);
                paging.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                after = rows.Count > 0 ? new JobListPosition(rows[^1].CreatedAt, rows[^1].Id) : null;
            }
        }
        all.AddRange(paging);
        sdk["cursor_pages"] = Summary(paging);

        // REST: an API host in this process, as Api/Program.cs builds it, with a viewer's key.
        var url = $"http://127.0.0.1:{Bench.FreePort()}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Urls"] = url });
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = [$"127.0.0.1:{gatewayPort}"];
            o.ClusterId = serviceId;
            o.ServiceId = serviceId;
        });
        builder.Services.AddSchedulerRestApi(builder.Configuration);
        await using var api = builder.Build();
        api.UseSchedulerRestApi();
        api.MapSchedulerRestApi();
        await api.StartAsync(ct);
        var key = await client.CreateApiKeyAsync(new ApiKeyRequest { Name = "bench-viewer", Role = ApiRole.Viewer }, "bench", ct);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Token);
        var rest = new Dictionary<string, object>();
        var restAll = new List<double>();
        foreach (var (name, _, query) in filters.Where(f => f.Name is "newest" || f.Query.Length > 0))
        {
            var ms = new List<double>();
            for (var i = 0; i < ListingsPerFilter; i++)
            {
                var t = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync($"/api/v1/jobs?{query}", ct);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync(ct);
                ms.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            restAll.AddRange(ms);
            rest[name] = Summary(ms);
        }
        var restPages = new List<double>();
        string? cursor = null;
        for (var page = 0; page < 50; page++)
        {
            var t = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync($"/api/v1/jobs?state=Queued&tenant=tenant-1{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}", ct);
            response.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            restPages.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            cursor = body.RootElement.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            if (cursor is null)
                break;
        }
        restAll.AddRange(restPages);
        rest["cursor_pages"] = Summary(restPages);
        await api.StopAsync(CancellationToken.None);

        var sdkP99 = Percentile(all, 0.99);
        var restP99 = Percentile(restAll, 0.99);
        Console.Error.WriteLine($"listings at the full backlog: SDK p99 {sdkP99} ms, REST p99 {restP99} ms (all filters)");
        return new { per_filter_calls = ListingsPerFilter, sdk_p99_ms = sdkP99, rest_p99_ms = restP99, sdk, rest };
    }

    private static object Summary(List<double> ms) => new { p50 = Percentile(ms, 0.5), p99 = Percentile(ms, 0.99), max = Math.Round(ms.Max(), 1) };

    private static double Percentile(List<double> values, double p) => Bench.Percentile([.. values.Order()], p);

    /// <summary>How long after <paramref name="healthy"/> the shard first answers a head with jobs in it.</summary>
    private static async Task<(double Head, int Count)> FirstHeadAsync(IQueueShardGrain shard, long healthy, CancellationToken ct)
    {
        while (true)
        {
            var head = await shard.WatchHead(default, TimeSpan.Zero);
            if (!head.IsEmpty || Stopwatch.GetElapsedTime(healthy) > TimeSpan.FromMinutes(2))
                return (Math.Round(Stopwatch.GetElapsedTime(healthy).TotalMilliseconds), head.Count);
            await Task.Delay(10, ct);
        }
    }

    private static async Task<double> WaitForAsync(Func<long?> ticks, long since, CancellationToken ct)
    {
        while (true)
        {
            if (ticks() is { } at)
                return Math.Round((at - since) * 1000.0 / Stopwatch.Frequency);
            if (Stopwatch.GetElapsedTime(since) > TimeSpan.FromMinutes(2))
                return double.NaN;
            await Task.Delay(5, ct);
        }
    }

    private static async Task RecoveryBenchWait(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(50, ct);
        }
    }

    private static async Task<IHost> StartSiloAsync(int siloPort, int gatewayPort, string serviceId, string postgres, int capacity,
        BacklogRecorder recorder, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Each shard says when it has read all its rows after the restart, and how long that took.
        builder.Logging.AddFilter(typeof(Scheduler.Queues.QueueShardGrain).FullName, LogLevel.Information);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: serviceId);
            silo.AddScheduler(o =>
            {
                o.MaxConcurrentJobs = capacity;
                o.PullBatchSize = Math.Min(1000, capacity);
                o.ShutdownGracePeriod = TimeSpan.FromSeconds(1);
            });
            silo.UsePostgresSchedulerStorage(postgres, serviceId);
            silo.Services.AddSingleton(recorder);
            silo.Services.AddJobHandler<HoldHandler>(HoldHandler.Name);
            foreach (var name in Handlers)
                silo.Services.AddJobHandler<BacklogHandler>(name);
        });
        var host = builder.Build();
        await host.StartAsync(ct);
        return host;
    }

    private static async Task<IHost> StartClientAsync(int gatewayPort, string serviceId, int batch, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = [$"127.0.0.1:{gatewayPort}"];
            o.ClusterId = serviceId;
            o.ServiceId = serviceId;
            o.SubmitBatchSize = batch;
        });
        var host = builder.Build();
        await host.StartAsync(ct);
        return host;
    }

    /// <summary>Start order of the backlog's jobs (their priority rides in the payload) and runs per job.</summary>
    public sealed class BacklogRecorder
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _firstStart;

        public ConcurrentQueue<(JobId Id, int Priority)> Starts { get; } = new();
        public ConcurrentDictionary<JobId, int> Runs { get; } = new();
        public long? FirstStart => Interlocked.Read(ref _firstStart) is var t and > 0 ? t : null;
        public Task Released => _released.Task;

        public void Release() => _released.TrySetResult();

        /// <summary>Forgets the start order and first start so far (runs per job are kept); returns how many starts there were.</summary>
        public int Restart()
        {
            var before = Starts.Count;
            Starts.Clear();
            Interlocked.Exchange(ref _firstStart, 0);
            return before;
        }

        public void Started(JobId id, int priority)
        {
            Interlocked.CompareExchange(ref _firstStart, Stopwatch.GetTimestamp(), 0);
            Starts.Enqueue((id, priority));
            Runs.AddOrUpdate(id, 1, (_, n) => n + 1);
        }
    }

    /// <summary>Holds its slot until the benchmark releases the hold (then returns at once), or until the silo stops.</summary>
    public sealed class HoldHandler(BacklogRecorder recorder) : IJobHandler
    {
        public const string Name = "bench.hold";

        public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
        {
            await recorder.Released.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return recorder.Released.IsCompleted ? JobResult.Success() : JobResult.Retry("bench: the silo stops", after: TimeSpan.Zero);
        }
    }

    public sealed class BacklogHandler(BacklogRecorder recorder) : IJobHandler
    {
        public Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
        {
            recorder.Started(context.Id, context.Payload.Length == 1 ? context.Payload.Span[0] : -1);
            return Task.FromResult(JobResult.Success());
        }
    }
}
