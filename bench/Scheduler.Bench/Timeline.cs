using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Scheduler.Bench;

/// <summary>
/// Lateness over time within a run (schedules mode): per second of the measured window, the occurrences due, their
/// lateness p99 and max, next to what the process and the database did in that second (GC pauses and collections by
/// generation, the thread pool's backlog, database commands, schedule timer turns and reminder ticks, PostgreSQL's
/// checkpoints, WAL and autovacuum), so a bad second can be laid beside its cause.
/// </summary>
public sealed class Timeline : IDisposable
{
    private const int SampleMs = 50;
    private readonly long _t0 = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<int, Second> _seconds = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly Task _database;

    public Timeline(NpgsqlDataSource? database)
    {
        _sampler = SampleAsync(_stop.Token);
        _database = database is null ? Task.CompletedTask : SampleDatabaseAsync(database, _stop.Token);
    }

    /// <summary>The second (from this timeline's start) a stopwatch timestamp falls in.</summary>
    public int SecondOf(long ticks) => (int)Math.Floor((ticks - _t0) / (double)Stopwatch.Frequency);

    private Second At(long ticks) => _seconds.GetOrAdd(SecondOf(ticks), static _ => new Second());

    public void DatabaseCommand(double ms)
    {
        var s = At(Stopwatch.GetTimestamp());
        Interlocked.Increment(ref s.Commands);
        lock (s)
            s.CommandMaxMs = Math.Max(s.CommandMaxMs, ms);
    }

    public void ScheduleTimerTurn(long ticks) => Interlocked.Increment(ref At(ticks).TimerTurns);

    public void ReminderTick(long ticks) => Interlocked.Increment(ref At(ticks).ReminderTicks);

    private async Task SampleAsync(CancellationToken stop)
    {
        var (pause, g0, g1, g2) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var fullBlocking = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(SampleMs));
            while (await timer.WaitForNextTickAsync(stop))
            {
                var s = At(Stopwatch.GetTimestamp());
                var (p, c0, c1, c2) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
                var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
                lock (s)
                {
                    s.PauseMs += (p - pause).TotalMilliseconds;
                    s.Gen0 += c0 - g0;
                    s.Gen1 += c1 - g1;
                    s.Gen2 += c2 - g2;
                    if (blocking.Index != fullBlocking)
                        s.Gen2Blocking++;
                    s.MaxPending = Math.Max(s.MaxPending, ThreadPool.PendingWorkItemCount);
                    s.Threads = Math.Max(s.Threads, ThreadPool.ThreadCount);
                    // A sample late by far more than its period: the process was stopped (a pause) or starved of CPU.
                    s.Samples++;
                }
                (pause, g0, g1, g2, fullBlocking) = (p, c0, c1, c2, blocking.Index);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SampleDatabaseAsync(NpgsqlDataSource database, CancellationToken stop)
    {
        // One connection of its own, sampled once a second: cumulative counters, differenced into each second.
        const string Sql =
            "SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter), " +
            "(SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter), " +
            "(SELECT wal_bytes::bigint FROM pg_stat_wal), " +
            "(SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)::bigint FROM pg_stat_user_tables), " +
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'), " +
            "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer' AND wait_event IS DISTINCT FROM 'CheckpointerMain')";
        long[]? last = null;
        try
        {
            await using var connection = await database.OpenConnectionAsync(stop);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(stop))
            {
                await using var command = new NpgsqlCommand(Sql, connection);
                await using var reader = await command.ExecuteReaderAsync(stop);
                await reader.ReadAsync(stop);
                var now = new long[6];
                for (var i = 0; i < now.Length; i++)
                    now[i] = reader.IsDBNull(i) ? 0 : Convert.ToInt64(reader.GetValue(i));
                if (last is not null)
                {
                    var s = At(Stopwatch.GetTimestamp());
                    lock (s)
                    {
                        s.Checkpoints += now[0] - last[0];
                        s.BuffersWritten += now[1] - last[1];
                        s.WalKb += (now[2] - last[2]) / 1024;
                        s.Autovacuums += now[3] - last[3];
                        s.AutovacuumWorkers = Math.Max(s.AutovacuumWorkers, now[4]);
                        s.Checkpointing = Math.Max(s.Checkpointing, now[5]);
                    }
                }
                last = now;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (NpgsqlException e)
        {
            Console.Error.WriteLine($"timeline: database sampling stopped: {e.Message}");
        }
    }

    /// <summary>
    /// Each second's row for the occurrences given (due time and handler start, stopwatch ticks), from
    /// <paramref name="from"/> to <paramref name="to"/> (stopwatch ticks), and a summary: the worst seconds by p99,
    /// what they share, and how much the first seconds differ from the rest (warm-up).
    /// </summary>
    public object Report(IReadOnlyList<(long DueTicks, long StartTicks)> runs, long from, long to, TextWriter perSecond)
    {
        var bySecond = runs.GroupBy(r => SecondOf(r.DueTicks))
            .ToDictionary(g => g.Key, g => g.Select(r => (r.StartTicks - r.DueTicks) * 1000.0 / Stopwatch.Frequency).Order().ToArray());
        var rows = new List<Row>();
        for (var second = SecondOf(from); second < SecondOf(to); second++)
        {
            var late = bySecond.GetValueOrDefault(second) ?? [];
            var s = _seconds.GetValueOrDefault(second) ?? new Second();
            // Within 100 ms slices: how bunched the second's occurrences were.
            var due = runs.Where(r => SecondOf(r.DueTicks) == second).Select(r => (int)((r.DueTicks - _t0) * 10 / Stopwatch.Frequency)).GroupBy(x => x).Select(g => g.Count()).DefaultIfEmpty(0).Max();
            rows.Add(new Row(second - SecondOf(from), late.Length, due, Bench.Percentile(late, 0.99), late.Length == 0 ? 0 : Math.Round(late[^1], 1),
                Math.Round(s.PauseMs, 1), s.Gen0, s.Gen1, s.Gen2, s.Gen2Blocking, s.MaxPending, s.Threads, s.Samples,
                s.Commands, Math.Round(s.CommandMaxMs, 1), s.TimerTurns, s.ReminderTicks,
                s.Checkpoints, s.BuffersWritten, s.WalKb, s.Autovacuums, s.AutovacuumWorkers, s.Checkpointing));
        }
        perSecond.WriteLine("timeline: sec firings max_per_100ms p99 max gc_pause_ms gen0 gen1 gen2 gen2_blocking tp_pending threads samples db_cmds db_max_ms timer_turns reminder_ticks checkpoints bufs_written wal_kb autovacuums av_workers checkpointing");
        foreach (var r in rows)
            perSecond.WriteLine($"timeline: {r.Second} {r.Firings} {r.MaxPer100Ms} {r.P99} {r.Max} {r.PauseMs} {r.Gen0} {r.Gen1} {r.Gen2} {r.Gen2Blocking} {r.MaxPending} {r.Threads} {r.Samples} {r.Commands} {r.CommandMaxMs} {r.TimerTurns} {r.ReminderTicks} {r.Checkpoints} {r.BuffersWritten} {r.WalKb} {r.Autovacuums} {r.AutovacuumWorkers} {r.Checkpointing}");

        var bad = rows.Where(r => r.P99 > 100).ToList();
        var good = rows.Where(r => r.P99 <= 100).ToList();
        object Mean(List<Row> of) => of.Count == 0 ? new { } : new
        {
            seconds = of.Count,
            gc_pause_ms = Math.Round(of.Average(r => r.PauseMs), 1),
            gen1 = Math.Round(of.Average(r => (double)r.Gen1), 2),
            gen2 = Math.Round(of.Average(r => (double)r.Gen2), 2),
            tp_pending = Math.Round(of.Average(r => (double)r.MaxPending), 0),
            db_max_ms = Math.Round(of.Average(r => r.CommandMaxMs), 1),
            max_per_100ms = Math.Round(of.Average(r => (double)r.MaxPer100Ms), 0),
            reminder_ticks = Math.Round(of.Average(r => (double)r.ReminderTicks), 0),
            wal_kb = Math.Round(of.Average(r => (double)r.WalKb), 0),
            checkpointing = Math.Round(of.Average(r => (double)r.Checkpointing), 2),
            av_workers = Math.Round(of.Average(r => (double)r.AutovacuumWorkers), 2),
        };
        return new
        {
            seconds_over_100ms_p99 = bad.Count,
            seconds = rows.Count,
            first_10s_p99 = Bench.Percentile([.. runs.Where(r => SecondOf(r.DueTicks) < SecondOf(from) + 10).Select(r => (r.StartTicks - r.DueTicks) * 1000.0 / Stopwatch.Frequency).Order()], 0.99),
            bad_seconds_mean = Mean(bad),
            good_seconds_mean = Mean(good),
            worst = rows.OrderByDescending(r => r.P99).Take(5).ToList(),
        };
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll(_sampler, _database);
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    private sealed class Second
    {
        public double PauseMs;
        public int Gen0, Gen1, Gen2, Gen2Blocking, Samples, Threads;
        public long MaxPending;
        public int Commands, TimerTurns, ReminderTicks;
        public double CommandMaxMs;
        public long Checkpoints, BuffersWritten, WalKb, Autovacuums, AutovacuumWorkers, Checkpointing;
    }

    public sealed record Row(int Second, int Firings, int MaxPer100Ms, double P99, double Max, double PauseMs, int Gen0, int Gen1, int Gen2,
        int Gen2Blocking, long MaxPending, int Threads, int Samples, int Commands, double CommandMaxMs, int TimerTurns, int ReminderTicks,
        long Checkpoints, long BuffersWritten, long WalKb, long Autovacuums, long AutovacuumWorkers, long Checkpointing);
}
