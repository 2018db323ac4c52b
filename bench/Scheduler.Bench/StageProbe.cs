using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Scheduler.Bench;

/// <summary>
/// Where a due job's lateness goes (schedules and delayed mode): the silo's incoming calls on the one path, stamped
/// per job with the stopwatch (one clock with the recorder's handler starts), so each job's lateness splits into
/// stages. Absolute times are noisy on a shared host; the stages' shares of the slowest jobs are what to compare.
/// </summary>
/// <remarks>
/// Stages: due time → <c>IJobGrain.Submit</c> arrives (a schedule's timer and its turn; none for a delayed job,
/// submitted long before) → the job reaches its shard (<c>Enqueue</c>: for a delayed job its due timer) → a pull hands
/// it to a silo (the queue wait and the pool's wake-up) → <c>TryStart</c> arrives (the runner's hop) → <c>TryStart</c>
/// answers (its write of <c>Running</c>) → the handler starts.
/// </remarks>
public sealed class StageProbe : IIncomingGrainCallFilter, IOutgoingGrainCallFilter, IDisposable
{
    public static readonly string[] StageNames = ["due→timer", "timer→submit", "submit→enqueue", "enqueue→pulled", "pulled→try_start", "try_start (write)", "started→handler"];

    // Per job: when Submit, Enqueue, the pull, TryStart's arrival and its answer were seen (first time each).
    private const int Submit = 0, Enqueue = 1, Pulled = 2, TryStartIn = 3, TryStartOut = 4, TryStartSent = 5;

    private readonly ConcurrentDictionary<Guid, long[]> _jobs;
    // Each schedule grain's timer ticks (their turns' starts), to split "due → submit" into the timer's lateness and
    // the turn's work before its submit.
    private readonly ConcurrentDictionary<string, List<long>> _ticks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _otherCalls = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    // Every database command's duration (Npgsql's own measurements): a start's write waiting in a group commit
    // shows as a TryStart far longer than the commands.
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<double> _commandMs = new();
    private int _maxPending;
    private int _maxThreads;

    /// <summary>Set for the measured window of the schedules mode: per-second figures beside the lateness.</summary>
    public Timeline? Timeline { get; set; }

    /// <param name="capacity">The jobs expected (so that the per-job dictionary need not grow during the run).</param>
    public StageProbe(int capacity = 1024)
    {
        _jobs = new(Environment.ProcessorCount, capacity);
        _sampler = SampleAsync(_stop.Token);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.operation.duration")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            _commandMs.Enqueue(seconds * 1000);
            Timeline?.DatabaseCommand(seconds * 1000);
        });
        _listener.Start();
    }

    /// <summary>Forgets the database commands so far (call when the measured window begins).</summary>
    public void StartWindow() => _commandMs.Clear();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var now = Stopwatch.GetTimestamp();
        var name = context.InterfaceName;
        switch (name[(name.LastIndexOf('.') + 1)..], context.MethodName)
        {
            case ("IJobGrain", "Submit"):
                StampOnce(context.TargetId.GetGuidKey(), now, Submit);
                break;
            case ("IJobGrain", "TryStart"):
                StampOnce(context.TargetId.GetGuidKey(), now, TryStartIn);
                await context.Invoke();
                StampOnce(context.TargetId.GetGuidKey(), Stopwatch.GetTimestamp(), TryStartOut);
                return;
            case ("IQueueShardGrain", "Enqueue"):
                foreach (var entry in (ImmutableArray<QueueEntry>)context.Request.GetArgument(0)!)
                    StampOnce(entry.Id.Value, now, Enqueue);
                break;
            case ("IQueueShardGrain", "Pull"):
                await context.Invoke();
                var pulledAt = Stopwatch.GetTimestamp();
                if (context.Result is PullResult pulled)
                {
                    foreach (var entry in pulled.Entries)
                        StampOnce(entry.Id.Value, pulledAt, Pulled);
                }
                return;
            case ("IGrainTimerInvoker", _) when context.TargetId.Type.ToString() == "schedule":
                var ticks = _ticks.GetOrAdd(context.TargetId.Key.ToString()!, static _ => []);
                lock (ticks)
                    ticks.Add(now);
                Timeline?.ScheduleTimerTurn(now);
                break;
            case ("IRemindable", _):
                Timeline?.ReminderTick(now);
                break;
            case (var type, var method) when !type.StartsWith("I", StringComparison.Ordinal) || type.Contains("Timer", StringComparison.Ordinal):
                _otherCalls.AddOrUpdate($"{type}.{method}", 1, static (_, n) => n + 1);
                break;
        }
        await context.Invoke();
    }

    /// <summary>
    /// A job's first submit, enqueue, pull, TryStart arrival (in its activation), TryStart answer and TryStart sent
    /// (stopwatch ticks, 0: not seen). Between sending and arrival: the call's hop and, for an inactive grain, its activation.
    /// </summary>
    public long[] StampsOf(Guid id) => _jobs.TryGetValue(id, out var s) ? [.. s] : new long[6];

    /// <summary>Stamps a TryStart as its caller (the silo's runner) sends it.</summary>
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.MethodName == "TryStart" && context.InterfaceName.EndsWith("IJobGrain", StringComparison.Ordinal))
            StampOnce(context.TargetId.GetGuidKey(), Stopwatch.GetTimestamp(), TryStartSent);
        return context.Invoke();
    }

    private void StampOnce(Guid id, long ticks, int what) =>
        Interlocked.CompareExchange(ref _jobs.GetOrAdd(id, static _ => new long[6])[what], ticks, 0);

    private async Task SampleAsync(CancellationToken stop)
    {
        // Thread-pool backlog and threads, every 50 ms: starvation under a burst shows as a long queue.
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (await timer.WaitForNextTickAsync(stop))
            {
                _maxPending = Math.Max(_maxPending, (int)ThreadPool.PendingWorkItemCount);
                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The stages of the given jobs (id, due time and handler start as stopwatch ticks): each stage's p50 and p99 over
    /// all of them, and its mean share of the lateness of all jobs and of the slowest 1% and 0.1%.
    /// </summary>
    /// <param name="jobs">Each job, with its schedule's id (null for a delayed job).</param>
    public object Breakdown(IReadOnlyList<(Guid Id, string? Schedule, long DueTicks, long StartTicks)> jobs)
    {
        var rows = new List<(double Total, double[] Stages)>(jobs.Count);
        var incomplete = 0;
        foreach (var (id, schedule, due, start) in jobs)
        {
            if (!_jobs.TryGetValue(id, out var s) || s[Enqueue] == 0 || s[Pulled] == 0 || s[TryStartIn] == 0 || s[TryStartOut] == 0)
            {
                incomplete++;
                continue;
            }
            // A delayed job was submitted before its due time: its first stage is nil, and its second ends at the due timer.
            var submit = s[Submit] == 0 || s[Submit] < due ? due : s[Submit];
            // The schedule's last timer tick before its submit (none: the submit came from another turn, a reminder's).
            var tick = submit;
            if (schedule is not null && _ticks.TryGetValue(schedule, out var list))
            {
                lock (list)
                    tick = list.Where(t => t <= submit).DefaultIfEmpty(due).Max();
            }
            tick = Math.Clamp(tick, due, submit);
            long[] marks = [due, tick, submit, Math.Max(submit, s[Enqueue]), s[Pulled], s[TryStartIn], s[TryStartOut], start];
            var stages = new double[marks.Length - 1];
            for (var i = 0; i < stages.Length; i++)
                stages[i] = (marks[i + 1] - marks[i]) * 1000.0 / Stopwatch.Frequency;
            rows.Add(((start - due) * 1000.0 / Stopwatch.Frequency, stages));
        }
        rows.Sort((a, b) => a.Total.CompareTo(b.Total));
        object Shares(IEnumerable<(double Total, double[] Stages)> slice)
        {
            var list = slice.ToList();
            var sum = list.Sum(r => Math.Max(0, r.Total));
            return StageNames.Select((name, i) => (name, share: sum <= 0 ? 0 : Math.Round(list.Sum(r => r.Stages[i]) / sum, 3)))
                .ToDictionary(x => x.name, x => x.share);
        }
        var tail1 = rows.Skip(rows.Count - Math.Max(1, rows.Count / 100));
        var tail01 = rows.Skip(rows.Count - Math.Max(1, rows.Count / 1000));
        return new
        {
            jobs = rows.Count,
            incomplete,
            stage_ms = StageNames.Select((name, i) =>
            {
                var sorted = rows.Select(r => r.Stages[i]).Order().ToArray();
                return (name, p: new { p50 = Bench.Percentile(sorted, 0.50), p99 = Bench.Percentile(sorted, 0.99), max = sorted.Length == 0 ? double.NaN : Math.Round(sorted[^1], 1) });
            }).ToDictionary(x => x.name, x => (object)x.p),
            share_all = Shares(rows),
            share_slowest_1pct = Shares(tail1),
            share_slowest_01pct = Shares(tail01),
            db_commands_per_job = rows.Count == 0 ? 0 : Math.Round(_commandMs.Count / (double)rows.Count, 2),
            db_command_ms = _commandMs.ToArray().Order().ToArray() is var commands && commands.Length > 0
                ? new { p50 = Bench.Percentile(commands, 0.5), p99 = Bench.Percentile(commands, 0.99), max = Math.Round(commands[^1], 1) }
                : null,
            threadpool_max_pending = _maxPending,
            threadpool_max_threads = _maxThreads,
            other_calls = _otherCalls.OrderByDescending(c => c.Value).Take(8).ToDictionary(c => c.Key, c => c.Value),
        };
    }

    public void Dispose()
    {
        _listener.Dispose();
        _stop.Cancel();
        _sampler.Wait();
        _stop.Dispose();
    }
}
