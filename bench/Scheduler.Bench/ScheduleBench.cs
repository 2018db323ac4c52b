using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Scheduler.Client;

namespace Scheduler.Bench;

/// <summary>
/// Schedule load: <c>--schedules</c> schedules, each firing a no-op job every <c>--every</c> seconds, for
/// <c>--duration</c> seconds after every schedule has fired once. Measures firing lateness (occurrence time to the
/// job's handler start), missed occurrences (no run started) and duplicates (an occurrence run twice).
/// </summary>
public static class ScheduleBench
{
    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, StageProbe stages, string? postgres, CancellationToken ct)
    {
        await using var database = postgres is null ? null : NpgsqlDataSource.Create(postgres);
        var every = TimeSpan.FromSeconds(s.Every);
        // Wall-clock time of a handler start, from the recorder's stopwatch ticks.
        var (wall0, ticks0) = (DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());
        DateTimeOffset Wall(long ticks) => wall0 + TimeSpan.FromSeconds((ticks - ticks0) / (double)Stopwatch.Frequency);
        long Ticks(DateTimeOffset wall) => ticks0 + (long)((wall - wall0).TotalSeconds * Stopwatch.Frequency);

        var ids = Enumerable.Range(0, s.Schedules).Select(i => $"bench-{i:D6}").ToArray();
        // Spread evenly: schedule i's interval counts from i/N of a period after a common anchor, so the N schedules
        // fire at a steady N/every per second. Counted from their creations instead, they fire as bunched as they
        // were created (64 at a time, as fast as the host allowed: 2-3 times the mean rate in the busiest seconds,
        // more the faster the host), which made the figure depend on how the creation went.
        var anchor = DateTimeOffset.UtcNow;
        var starts = ids.Select((_, i) => s.Spread == "even" ? anchor + every * i / ids.Length : (DateTimeOffset?)null).ToArray();
        var creating = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (i, token) =>
            await client.UpsertScheduleAsync(new ScheduleDefinition
            {
                Id = ids[i],
                Job = new JobRequest { Handler = RecordingNoopHandler.Name },
                Trigger = ScheduleTrigger.Every(every),
                StartAt = starts[i],
            }, token));
        var created = DateTimeOffset.UtcNow;
        var creationSeconds = creating.Elapsed.TotalSeconds;

        // Measure from one period after the last creation (every schedule has fired once) for --duration.
        using var memory = new Bench.PeakWorkingSet();
        var from = created + every;
        var to = from + s.Duration;
        await Task.Delay(from - DateTimeOffset.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero, ct);
        stages.StartWindow();
        using var timeline = new Timeline(database);
        stages.Timeline = timeline;
        var runtime = new RuntimeCounters();
        var rowsBefore = await RowWritesAsync(database, ct);
        await Task.Delay(to - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5), ct);
        var runtimeFigures = runtime.Since();
        stages.Timeline = null;
        var rowsAfter = await RowWritesAsync(database, ct);
        // CPU and allocations per firing: what the shared host cannot blur.
        var cpuMs = runtime.CpuSince.TotalMilliseconds;
        var allocated = runtime.AllocatedSince;

        var lateness = new List<double>();
        var staged = new List<(Guid, string?, long, long)>();
        long expected = 0, missed = 0, duplicates = 0, skipped = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (id, token) =>
        {
            var status = await client.GetScheduleAsync(id, 0, token) ?? throw new InvalidOperationException($"schedule {id} is gone");
            // The occurrences the window holds: the start (or the creation) plus whole periods.
            var origin = status.Definition.StartAt ?? status.CreatedAt;
            var first = (long)Math.Ceiling((from - origin) / every);
            var last = (long)Math.Floor((to - origin - TimeSpan.FromTicks(1)) / every);
            var occurrences = Enumerable.Range(0, (int)Math.Max(0, last - first + 1)).Select(k => origin + every * (first + k)).ToList();
            var runs = status.LastRuns.Where(r => r.Occurrence >= from && r.Occurrence < to).ToList();
            var mine = new List<double>();
            var myStaged = new List<(Guid, string?, long, long)>();
            long myMissed = 0, myDuplicates = 0, mySkipped = 0;
            foreach (var occurrence in occurrences)
            {
                var run = runs.Where(r => r.Occurrence == occurrence).ToList();
                myDuplicates += Math.Max(0, run.Count - 1);
                if (run.Count == 0 || !recorder.StartTicks.TryGetValue(run[0].RunId, out var started))
                {
                    myMissed++;
                    mySkipped += run.Count(r => r.Outcome == ScheduleRunOutcome.Skipped);
                    continue;
                }
                myDuplicates += Math.Max(0, recorder.Runs.GetValueOrDefault(run[0].RunId) - 1);
                mine.Add((Wall(started) - occurrence).TotalMilliseconds);
                myStaged.Add((run[0].RunId, id, Ticks(occurrence), started));
            }
            lock (lateness)
            {
                lateness.AddRange(mine);
                staged.AddRange(myStaged);
                expected += occurrences.Count;
                missed += myMissed;
                duplicates += myDuplicates;
                skipped += mySkipped;
            }
        });

        var sorted = lateness.Order().ToArray();
        var result = new
        {
            storage = s.Storage,
            silos = s.Silos,
            mode = s.Mode,
            schedules = s.Schedules,
            every_seconds = s.Every,
            duration_seconds = s.Duration.TotalSeconds,
            firings_per_sec = Math.Round(s.Schedules / (double)s.Every, 1),
            spread = s.Spread,
            creation_seconds = Math.Round(creationSeconds, 1),
            occurrences = expected,
            fired = sorted.Length,
            missed,
            skipped,
            duplicates,
            lateness_ms = new { p50 = Percentile(sorted, 0.50), p95 = Percentile(sorted, 0.95), p99 = Percentile(sorted, 0.99), max = sorted.Length == 0 ? double.NaN : Math.Round(sorted[^1], 2) },
            peak_working_set_mb = Math.Round(memory.PeakBytes / 1024.0 / 1024.0, 1),
            runtime = runtimeFigures,
            cpu_ms_per_firing = sorted.Length == 0 ? double.NaN : Math.Round(cpuMs / sorted.Length, 3),
            allocated_kb_per_firing = sorted.Length == 0 ? double.NaN : Math.Round(allocated / 1024.0 / sorted.Length, 1),
            // Rows inserted or updated per occurrence of the window (run or skipped), by table, and transactions
            // committed (PostgreSQL's own counters, which the silo's group commit shares between firings).
            writes_per_firing = expected == 0 || rowsBefore is null || rowsAfter is null
                ? null
                : rowsAfter.Where(kv => kv.Key != "schedule_row_bytes").ToDictionary(kv => kv.Key, kv => Math.Round((kv.Value - rowsBefore.GetValueOrDefault(kv.Key)) / (double)expected, 3)),
            schedule_row_bytes = rowsAfter?.GetValueOrDefault("schedule_row_bytes"),
            stages = stages.Breakdown(staged),
            timeline = timeline.Report([.. staged.Select(r => (r.Item3, r.Item4))], Ticks(from), Ticks(to), Console.Error),
        };
        Console.Error.WriteLine($"schedules {s.Storage}: {s.Schedules} every {s.Every} s for {s.Duration.TotalSeconds} s: {sorted.Length}/{expected} occurrences fired; " +
            $"lateness p50 {result.lateness_ms.p50} ms, p99 {result.lateness_ms.p99} ms; missed {missed}, duplicates {duplicates}; peak working set {result.peak_working_set_mb} MiB");
        Console.WriteLine(JsonSerializer.Serialize(result));

        // Deleted once the figures are out: a delete waits for a firing in progress, which on a loaded host can take
        // longer than a call may.
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (id, token) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await client.DeleteScheduleAsync(id, token);
                    return;
                }
                catch (SchedulerException e) when (attempt < 3)
                {
                    Console.Error.WriteLine($"deleting schedule {id} failed (try {attempt}): {e.Message}");
                }
            }
        });

        return missed == 0 && duplicates == 0;
    }

    /// <summary>
    /// Rows written so far (inserted plus updated) in the tables a firing writes, the database's commits, the server's WAL
    /// and the schedule rows' mean size; null without PostgreSQL. Its statistics are flushed about once a second, close
    /// enough for a window of minutes.
    /// </summary>
    private static async Task<Dictionary<string, long>?> RowWritesAsync(NpgsqlDataSource? database, CancellationToken ct)
    {
        if (database is null)
            return null;
        await using var command = database.CreateCommand(
            "SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables " +
            "WHERE relname IN ('scheduler_jobs', 'scheduler_job_history', 'scheduler_schedules', 'orleansreminderstable') " +
            "UNION ALL SELECT 'commits', xact_commit FROM pg_stat_database WHERE datname = current_database() " +
            // WAL written by the whole server (the bench's database is its only busy one), full-page images among it.
            "UNION ALL SELECT 'wal_kb', (wal_bytes / 1024)::bigint FROM pg_stat_wal UNION ALL SELECT 'wal_full_page_images', wal_fpi FROM pg_stat_wal " +
            // The schedule row's stored size (its state holds the last runs): written at every firing.
            "UNION ALL SELECT 'schedule_row_bytes', coalesce(avg(length(data)), 0)::bigint FROM scheduler_schedules");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
            rows[reader.GetString(0)] = reader.GetInt64(1);
        return rows;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
}
