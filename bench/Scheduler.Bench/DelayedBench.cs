using System.Diagnostics;
using System.Text.Json;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode delayed</c>: submits <c>--jobs</c> delayed jobs up front, due <c>--rate</c> per second from a few seconds
/// on, and measures how late each starts after its due time (handler start − due time), and whether any started early.
/// </summary>
public static class DelayedBench
{
    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, StageProbe stages, int warmedUp, CancellationToken ct)
    {
        // Every job is submitted before the first is due (a delayed submit also registers a reminder: PostgreSQL takes
        // about 1,500 a second here), so the figure is the due-time path, not the submit path; late_submits says if not.
        var lead = TimeSpan.FromSeconds(Math.Max(5, s.Jobs / 500.0));
        var startWall = DateTimeOffset.UtcNow;
        var startTicks = Stopwatch.GetTimestamp();
        var firstDue = startWall + lead;
        var runtime = new RuntimeCounters();
        var requests = Enumerable.Range(0, s.Jobs).Select(i => new JobRequest
        {
            Handler = RecordingNoopHandler.Name,
            Id = JobId.New(),
            NotBefore = firstDue + TimeSpan.FromSeconds(i / (double)s.Rate),
        }).ToArray();
        foreach (var chunk in requests.Chunk(s.Batch))
            await client.SubmitManyAsync(chunk, ct);
        var submitSeconds = Stopwatch.GetElapsedTime(startTicks).TotalSeconds;
        var lateSubmits = requests.Count(r => r.NotBefore!.Value < startWall + TimeSpan.FromSeconds(submitSeconds));

        stages.StartWindow();
        var lastDue = requests[^1].NotBefore!.Value;
        var deadline = DateTime.UtcNow + (lastDue - DateTimeOffset.UtcNow) + s.Timeout;
        long succeeded = 0;
        while (DateTime.UtcNow < deadline)
        {
            succeeded = (await client.GetStatsAsync(ct)).ByState.GetValueOrDefault(JobState.Succeeded);
            if (succeeded >= warmedUp + s.Jobs)
                break;
            await Task.Delay(50, ct);
        }

        // Lateness on one clock: the handler's start, as wall time from the same reference as the due times.
        var lateness = requests
            .Where(r => recorder.StartTicks.ContainsKey(r.Id!.Value.Value))
            .Select(r =>
            {
                var started = startWall + TimeSpan.FromSeconds((recorder.StartTicks[r.Id!.Value.Value] - startTicks) / (double)Stopwatch.Frequency);
                return (started - r.NotBefore!.Value).TotalMilliseconds;
            })
            .Order().ToArray();
        var ids = requests.Select(r => r.Id!.Value.Value).ToHashSet();
        var duplicates = recorder.Runs.Where(kv => ids.Contains(kv.Key)).Sum(kv => Math.Max(0, kv.Value - 1));
        var completed = (int)Math.Max(0, succeeded - warmedUp);
        var lost = s.Jobs - completed;
        var early = lateness.Count(ms => ms < 0);

        var result = new
        {
            storage = s.Storage,
            mode = s.Mode,
            jobs = s.Jobs,
            due_per_sec = s.Rate,
            lead_seconds = lead.TotalSeconds,
            submit_seconds = Math.Round(submitSeconds, 3),
            late_submits = lateSubmits,
            completed,
            lost,
            duplicates,
            early,
            lateness_ms = new
            {
                p50 = Percentile(lateness, 0.50),
                p99 = Percentile(lateness, 0.99),
                max = lateness.Length == 0 ? double.NaN : Math.Round(lateness[^1], 2),
            },
            capacity = s.Capacity,
            runtime = runtime.Since(),
            stages = stages.Breakdown([.. requests.Where(r => recorder.StartTicks.ContainsKey(r.Id!.Value.Value)).Select(r => (r.Id!.Value.Value, (string?)null,
                startTicks + (long)((r.NotBefore!.Value - startWall).TotalSeconds * Stopwatch.Frequency), recorder.StartTicks[r.Id!.Value.Value]))]),
        };
        Console.Error.WriteLine($"delayed {s.Storage}: {completed}/{s.Jobs} completed, due {s.Rate}/s; lateness p50 {result.lateness_ms.p50} ms, " +
            $"p99 {result.lateness_ms.p99} ms, max {result.lateness_ms.max} ms; early {early}, lost {lost}, duplicates {duplicates}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return lost == 0 && duplicates == 0 && early == 0;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
}
