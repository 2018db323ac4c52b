using System.Diagnostics;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode fairness</c> (issue 17; docs/queues.md): tenant A floods the queue with <c>--jobs</c> no-op jobs, then
/// tenant B submits 10. Reports B's submit-to-start latency and each B job's position in the start order counted
/// from B's submit, against how many of A's jobs were still waiting then. <c>--ordering off</c> runs the same without
/// fair share, for comparison.
/// </summary>
public static class FairnessBench
{
    private const int FewJobs = 10;

    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, StageProbe? trace, int warmedUp, CancellationToken ct)
    {
        JobRequest Job(string tenant) => new() { Handler = RecordingNoopHandler.Name, Id = JobId.New(), Tenant = tenant };
        var flood = Enumerable.Range(0, s.Jobs).Select(_ => Job("tenant-a")).ToArray();
        var few = Enumerable.Range(0, FewJobs).Select(_ => Job("tenant-b")).ToArray();

        var first = Stopwatch.GetTimestamp();
        using (var gate = new SemaphoreSlim(4))
        {
            await Task.WhenAll(flood.Chunk(s.Batch).Select(async chunk =>
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
        }
        var fewSubmitted = Stopwatch.GetTimestamp();
        await client.SubmitManyAsync(few, ct);
        var fewAccepted = Stopwatch.GetTimestamp();
        var succeeded = await Bench.WaitForSucceededAsync(client, warmedUp + s.Jobs + FewJobs, DateTime.UtcNow + s.Timeout, ct);
        var seconds = Stopwatch.GetElapsedTime(first).TotalSeconds;

        long StartOf(JobRequest r) => recorder.StartTicks.GetValueOrDefault(r.Id!.Value.Value, long.MaxValue);
        var floodStarts = flood.Select(StartOf).ToArray();
        var waitingThen = floodStarts.Count(t => t >= fewSubmitted);
        // Every start from B's submit on, in order. B's jobs reach their shards some time into their submit call (the
        // call's own path, the same with fair share or without): positions count from B's first start (1), and the
        // starts between B's submit and that first start are reported apart.
        var later = floodStarts.Where(t => t >= fewSubmitted && t != long.MaxValue).Select(t => (Tick: t, Few: false))
            .Concat(few.Select(StartOf).Where(t => t != long.MaxValue).Select(t => (Tick: t, Few: true)))
            .OrderBy(x => x.Tick).ToArray();
        var firstFew = Array.FindIndex(later, x => x.Few);
        var positions = later.Select((x, i) => (x.Few, Position: i - firstFew + 1)).Where(x => x.Few).Select(x => x.Position).ToArray();
        var latencies = few.Select(StartOf).Where(t => t != long.MaxValue)
            .Select(t => (t - fewSubmitted) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        var floodDrain = waitingThen == 0 ? 0 : (floodStarts.Where(t => t != long.MaxValue).Max() - fewSubmitted) * 1000.0 / Stopwatch.Frequency;
        var lost = (int)Math.Max(0, warmedUp + s.Jobs + FewJobs - succeeded);
        var duplicates = flood.Concat(few).Sum(r => Math.Max(0, recorder.Runs.GetValueOrDefault(r.Id!.Value.Value) - 1));

        var result = new
        {
            storage = s.Storage,
            mode = s.Mode,
            ordering = s.Ordering,
            jobs = s.Jobs,
            few_jobs = FewJobs,
            capacity = s.Capacity,
            flood_waiting_at_b_submit = waitingThen,
            b_start_latency_ms = new { p50 = Percentile(latencies, 0.50), p99 = Percentile(latencies, 0.99) },
            b_submit_call_ms = Math.Round((fewAccepted - fewSubmitted) * 1000.0 / Stopwatch.Frequency, 1),
            starts_before_b_first_start = firstFew,
            b_start_positions = positions,
            flood_drain_after_b_ms = Math.Round(floodDrain, 1),
            jobs_per_sec = Math.Round((s.Jobs + FewJobs - lost) / seconds, 1),
            lost,
            duplicates,
        };
        Console.Error.WriteLine($"fairness {s.Storage} (ordering {s.Ordering}): B's {FewJobs} jobs submitted with {waitingThen} of A's waiting; " +
            $"B start latency p50 {result.b_start_latency_ms.p50} ms, p99 {result.b_start_latency_ms.p99} ms; {firstFew} starts before B's first, then B at positions {string.Join(",", positions)}; " +
            $"A drained {result.flood_drain_after_b_ms} ms after B's submit; lost {lost}, duplicates {duplicates}");
        if (trace is not null)
            Trace(trace, flood, few, recorder, fewSubmitted);
        Console.WriteLine(JsonSerializer.Serialize(result));
        return lost == 0 && duplicates == 0;
    }

    /// <summary>
    /// <c>--trace</c>: B's positions by each stage of the path (counted as the handler starts are: every job's stamp at
    /// that stage from B's submit on, from B's first), and each B job's stamps in ms after B's submit call began.
    /// </summary>
    private static void Trace(StageProbe probe, JobRequest[] flood, JobRequest[] few, Recorder recorder, long fewSubmitted)
    {
        string[] names = ["submit", "enqueue", "pulled", "try_start_sent", "try_start_in", "try_start_out", "handler"];
        long[] Stamps(JobRequest r)
        {
            var s = probe.StampsOf(r.Id!.Value.Value);
            return [s[0], s[1], s[2], s[5], s[3], s[4], recorder.StartTicks.GetValueOrDefault(r.Id!.Value.Value, 0)];
        }
        var floodStamps = flood.Select(Stamps).ToArray();
        var fewStamps = few.Select(Stamps).ToArray();
        var positions = new Dictionary<string, int[]>();
        for (var stage = 2; stage < names.Length; stage++)
        {
            var later = floodStamps.Select(x => x[stage]).Where(t => t >= fewSubmitted).Select(t => (Tick: t, Few: false))
                .Concat(fewStamps.Select(x => x[stage]).Where(t => t != 0).Select(t => (Tick: t, Few: true)))
                .OrderBy(x => x.Tick).ToArray();
            var first = Array.FindIndex(later, x => x.Few);
            positions[names[stage]] = [.. later.Select((x, i) => (x.Few, Position: i - first + 1)).Where(x => x.Few).Select(x => x.Position)];
        }
        foreach (var (name, list) in positions)
            Console.Error.WriteLine($"trace: B's positions by {name}: {string.Join(",", list)}");
        // Each step's time for A's jobs pulled from B's submit on and for B's: a step slower for B's jobs alone is
        // what reorders them.
        for (var stage = 3; stage < names.Length; stage++)
        {
            string Gaps(IEnumerable<long[]> jobs)
            {
                var gaps = jobs.Where(x => x[2] >= fewSubmitted && x[stage] != 0 && x[stage - 1] != 0)
                    .Select(x => (x[stage] - x[stage - 1]) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
                return $"p50 {Percentile(gaps, 0.5)} p90 {Percentile(gaps, 0.9)} p99 {Percentile(gaps, 0.99)} max {Percentile(gaps, 1)} ms ({gaps.Length})";
            }
            Console.Error.WriteLine($"trace: {names[stage - 1]}→{names[stage]}: A {Gaps(floodStamps)}; B {Gaps(fewStamps)}");
        }
        foreach (var s in fewStamps.OrderBy(x => x[^1]))
            Console.Error.WriteLine("trace: B job ms after B's submit: " + string.Join(" ", names.Select((n, i) =>
                $"{n} {(s[i] == 0 ? double.NaN : Math.Round((s[i] - fewSubmitted) * 1000.0 / Stopwatch.Frequency, 2))}")));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
}
