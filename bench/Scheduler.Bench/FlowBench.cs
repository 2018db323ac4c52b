using System.Diagnostics;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// Flow control's modes (issue 16; docs/benchmarks.md):
/// <c>--mode keys</c> runs bursts of <c>--jobs</c> no-op jobs alternately without keys and with each job holding one
/// of <c>--keys</c> mutex keys (default 1,000), twice each, and reports the mean rates and their ratio;
/// <c>--mode mutex</c> runs <c>--jobs</c> jobs that all hold one key with limit 1 and reports the gaps from each run's
/// end to the next run's start, as the handler recorded them;
/// <c>--mode ratelimit</c> rate-limits one key to <c>--rate-limit</c> starts per <c>--window</c> seconds, submits
/// exactly enough jobs for <c>--duration</c> seconds, and counts the starts in every window.
/// </summary>
public static class FlowBench
{
    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, FlowCounters counters, int warmedUp,
        string? postgres, CancellationToken ct) =>
        s.Mode switch
        {
            "keys" => await KeysAsync(client, s, recorder, counters, warmedUp, await ServerCpu.FindAsync(postgres, ct), ct),
            "mutex" => await MutexAsync(client, s, recorder, counters, warmedUp, ct),
            _ => await RateLimitAsync(client, s, recorder, warmedUp, ct),
        };

    private static async Task<bool> KeysAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, FlowCounters counters, int warmedUp,
        ServerCpu? database, CancellationToken ct)
    {
        var keys = s.Keys > 0 ? s.Keys : 1000;
        // Alternate, without and with keys, twice: the machine is shared, and drift hits both alike.
        var without = new List<double>();
        var with = new List<double>();
        var expected = warmedUp;
        var (lost, duplicates) = (0, 0);
        // Counts per job of the second round's bursts (the first warms up the keyed path).
        object? withoutCost = null, withCost = null;
        // CPU per job (the bench process, and the database server where it runs here) and bytes allocated per job, each
        // burst: unlike rates, they hardly move with the load of a shared host.
        var withoutCpu = new List<object>();
        var withCpu = new List<object>();
        for (var round = 0; round < 2; round++)
        {
            foreach (var withKeys in new[] { false, true })
            {
                var requests = Enumerable.Range(0, s.Jobs).Select(i => new JobRequest
                {
                    Handler = RecordingNoopHandler.Name,
                    Id = JobId.New(),
                    Concurrency = withKeys ? [new ConcurrencyKey($"bench:{round}:{i % keys}")] : [],
                }).ToArray();
                expected += s.Jobs;
                var before = counters.Take();
                var runtime = new RuntimeCounters();
                var databaseBefore = database?.Seconds();
                var burst = await BurstAsync(client, requests, s, recorder, expected, ct);
                var cost = counters.Take().PerJob(before, s.Jobs);
                (withKeys ? withCpu : withoutCpu).Add(new
                {
                    process_cpu_ms = Math.Round(runtime.CpuSince.TotalMilliseconds / s.Jobs, 3),
                    database_cpu_ms = database is null ? (double?)null : Math.Round((database.Seconds() - databaseBefore!.Value) * 1000 / s.Jobs, 3),
                    allocated_kb = Math.Round(runtime.AllocatedSince / 1024.0 / s.Jobs, 1),
                });
                if (withKeys)
                    withCost = cost;
                else
                    withoutCost = cost;
                (withKeys ? with : without).Add(burst.Rate);
                lost += burst.Lost;
                duplicates += burst.Duplicates;
                Console.Error.WriteLine($"keys: burst {(withKeys ? $"with {keys} mutex keys" : "without keys")}: {burst.Rate:0} jobs/s");
            }
        }
        var ratio = Math.Round(with.Average() / without.Average(), 3);
        var result = new
        {
            storage = s.Storage,
            silos = s.Silos,
            mode = s.Mode,
            jobs = s.Jobs,
            keys,
            lost,
            duplicates,
            without_keys_jobs_per_sec = without.Select(r => Math.Round(r, 1)).ToArray(),
            with_keys_jobs_per_sec = with.Select(r => Math.Round(r, 1)).ToArray(),
            ratio,
            capacity = s.Capacity,
            without_keys_per_job = withoutCost,
            with_keys_per_job = withCost,
            without_keys_cpu_per_job = withoutCpu,
            with_keys_cpu_per_job = withCpu,
        };
        Console.Error.WriteLine($"keys {s.Storage}: {s.Jobs} jobs, {keys} mutex keys: {with.Average():0} jobs/s against {without.Average():0} without keys " +
            $"(ratio {ratio}); lost {lost}, duplicates {duplicates}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return lost == 0 && duplicates == 0;
    }

    private static async Task<bool> MutexAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, FlowCounters counters, int warmedUp, CancellationToken ct)
    {
        var key = $"bench:mutex:{Guid.NewGuid():N}";
        var requests = Enumerable.Range(0, s.Jobs).Select(_ => new JobRequest
        {
            Handler = RecordingSpanHandler.Name,
            Id = JobId.New(),
            Concurrency = [new ConcurrencyKey(key, 1)],
        }).ToArray();
        var before = counters.Take();
        counters.TakeSlowestCommandMs();
        var burst = await BurstAsync(client, requests, s, recorder, warmedUp + s.Jobs, ct);
        var cost = counters.Take().PerJob(before, s.Jobs);
        var slowestCommand = counters.TakeSlowestCommandMs();

        // Runs in start order; each gap runs from one run's recorded end to the next one's start (negative: they overlapped).
        var runs = requests
            .Where(r => recorder.StartTicks.ContainsKey(r.Id!.Value.Value) && recorder.EndTicks.ContainsKey(r.Id!.Value.Value))
            .Select(r => (Start: recorder.StartTicks[r.Id!.Value.Value], End: recorder.EndTicks[r.Id!.Value.Value]))
            .OrderBy(r => r.Start).ToArray();
        var gaps = runs.Skip(1).Select((r, i) => (r.Start - runs[i].End) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        // The longest gap, on the wall clock, to look up in the silo's log.
        if (runs.Length > 1)
        {
            var worst = Enumerable.Range(1, runs.Length - 1).MaxBy(i => runs[i].Start - runs[i - 1].End);
            DateTime Wall(long ticks) => DateTime.UtcNow - Stopwatch.GetElapsedTime(ticks);
            Console.Error.WriteLine($"mutex: longest gap from {Wall(runs[worst - 1].End):HH:mm:ss.fff} to {Wall(runs[worst].Start):HH:mm:ss.fff} (UTC)");
        }
        var overlaps = gaps.Count(g => g < 0);
        var result = new
        {
            storage = s.Storage,
            silos = s.Silos,
            mode = s.Mode,
            jobs = s.Jobs,
            lost = burst.Lost,
            duplicates = burst.Duplicates,
            overlaps,
            jobs_per_sec = Math.Round(burst.Rate, 1),
            gap_ms = new { p50 = Percentile(gaps, 0.50), p99 = Percentile(gaps, 0.99), max = gaps.Length == 0 ? double.NaN : Math.Round(gaps[^1], 2) },
            capacity = s.Capacity,
            per_job = cost,
            slowest_db_command_ms = slowestCommand,
        };
        Console.Error.WriteLine($"mutex {s.Storage}: {s.Jobs} jobs on one key with limit 1 at {burst.Rate:0} jobs/s; end → next start p50 {result.gap_ms.p50} ms, " +
            $"p99 {result.gap_ms.p99} ms, max {result.gap_ms.max} ms; overlaps {overlaps}, lost {burst.Lost}, duplicates {burst.Duplicates}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return burst.Lost == 0 && burst.Duplicates == 0 && overlaps == 0;
    }

    private static async Task<bool> RateLimitAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, int warmedUp, CancellationToken ct)
    {
        var key = $"bench:rate:{Guid.NewGuid():N}";
        var window = TimeSpan.FromSeconds(s.Window);
        await client.SetKeyLimitsAsync(key, new KeySettings { Rate = new RateLimit(s.RateLimit, window) }, ct);
        // Exactly the starts --duration allows, all submitted at once: the limit, not the submitter, paces every window.
        var windows = (int)(s.Duration.TotalSeconds / s.Window);
        var requests = Enumerable.Range(0, windows * s.RateLimit).Select(_ => new JobRequest
        {
            Handler = RecordingSpanHandler.Name,
            Id = JobId.New(),
            Concurrency = [new ConcurrencyKey(key)],
        }).ToArray();
        var burst = await BurstAsync(client, requests, s, recorder, warmedUp + requests.Length, ct, s.Duration);

        // Starts as the attempts recorded them (the time the key granted the start, which its window counts), not when
        // the handlers began: a handler begins a little after its grant, by more in the first burst than later.
        var statuses = new List<JobStatus?>(requests.Length);
        foreach (var chunk in requests.Chunk(64))
            statuses.AddRange(await Task.WhenAll(chunk.Select(r => client.GetStatusAsync(r.Id!.Value, ct))));
        var starts = statuses.Where(st => st?.StartedAt is not null).Select(st => st!.StartedAt!.Value.UtcTicks).Order().ToArray();
        var handlerStarts = requests.Where(r => recorder.StartTicks.ContainsKey(r.Id!.Value.Value))
            .Select(r => (long)(recorder.StartTicks[r.Id!.Value.Value] * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency)).Order().ToArray();
        var windowTicks = TimeSpan.FromSeconds(s.Window).Ticks;
        var most = MostInAnyWindow(starts, windowTicks);
        // The starts in each full window, counted from the first start.
        var perWindow = starts.Length == 0 ? [] : Enumerable.Range(0, windows)
            .Select(w => starts.Count(t => t >= starts[0] + w * windowTicks && t < starts[0] + (w + 1) * windowTicks)).ToArray();
        var result = new
        {
            storage = s.Storage,
            silos = s.Silos,
            mode = s.Mode,
            jobs = requests.Length,
            rate_limit = s.RateLimit,
            window_seconds = s.Window,
            duration_seconds = s.Duration.TotalSeconds,
            lost = burst.Lost,
            duplicates = burst.Duplicates,
            most_in_any_window = most,
            handler_starts_most_in_any_window = MostInAnyWindow(handlerStarts, windowTicks),
            fewest_in_a_full_window = perWindow.Length == 0 ? 0 : perWindow.Min(),
            starts_per_window = perWindow,
            capacity = s.Capacity,
        };
        Console.Error.WriteLine($"ratelimit {s.Storage}: {requests.Length} jobs, {s.RateLimit} per {s.Window} s: most in any window {most}, " +
            $"per window [{string.Join(", ", perWindow)}]; lost {burst.Lost}, duplicates {burst.Duplicates}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return burst.Lost == 0 && burst.Duplicates == 0 && most <= s.RateLimit;
    }

    /// <summary>The most of the sorted <paramref name="starts"/> in any window: one beginning at each start covers every window that could hold the most.</summary>
    private static int MostInAnyWindow(long[] starts, long windowTicks)
    {
        var most = 0;
        for (int i = 0, j = 0; i < starts.Length; i++)
        {
            while (j < starts.Length && starts[j] - starts[i] < windowTicks)
                j++;
            most = Math.Max(most, j - i);
        }
        return most;
    }

    private sealed record Burst(double Rate, int Lost, int Duplicates);

    /// <summary>Submits everything (<c>--batch</c> per call, 4 calls in flight) and waits until the cluster counts <paramref name="expected"/> jobs succeeded.</summary>
    private static async Task<Burst> BurstAsync(ISchedulerClient client, JobRequest[] requests, BenchSettings s, Recorder recorder, int expected,
        CancellationToken ct, TimeSpan extraTime = default)
    {
        var first = Stopwatch.GetTimestamp();
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(requests.Chunk(s.Batch).Select(async chunk =>
        {
            await gate.WaitAsync(ct);
            try
            {
                await client.SubmitManyAsync(chunk, ct);
            }
            finally
            {
                gate.Release();
            }
        }));
        var succeeded = await Bench.WaitForSucceededAsync(client, expected, DateTime.UtcNow + extraTime + s.Timeout, ct);
        var seconds = Stopwatch.GetElapsedTime(first).TotalSeconds;
        var lost = (int)Math.Max(0, expected - succeeded);
        var duplicates = requests.Sum(r => Math.Max(0, recorder.Runs.GetValueOrDefault(r.Id!.Value.Value) - 1));
        return new Burst((requests.Length - lost) / seconds, lost, duplicates);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
}
