using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Scheduler.Bench;

/// <summary>
/// What a flow-control burst costs, counted rather than timed (the machine is shared, counts are not noisy): grain
/// calls the silos received, by interface and method, and database commands (Npgsql's per-command duration
/// measurements, so Orleans' own grain-state writes and reminders count too).
/// </summary>
public sealed class FlowCounters : IIncomingGrainCallFilter, IDisposable
{
    private readonly ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();
    private long _commands;
    private long _slowestMs;

    public FlowCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.operation.duration")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            Interlocked.Increment(ref _commands);
            // The slowest command so far: a storage stall shows here as well as in the latency it causes.
            var ms = (long)(seconds * 1000);
            for (var max = Interlocked.Read(ref _slowestMs); ms > max; max = Interlocked.Read(ref _slowestMs))
            {
                if (Interlocked.CompareExchange(ref _slowestMs, ms, max) == max)
                    break;
            }
        });
        _listener.Start();
    }

    public Task Invoke(IIncomingGrainCallContext context)
    {
        _calls.AddOrUpdate($"{context.InterfaceName.Split('.')[^1]}.{context.MethodName}", 1, static (_, n) => n + 1);
        return context.Invoke();
    }

    /// <summary>The counts so far.</summary>
    public Snapshot Take() => new(Interlocked.Read(ref _commands), _calls.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal));

    /// <summary>The slowest database command since the last call, in milliseconds (then starts again).</summary>
    public long TakeSlowestCommandMs() => Interlocked.Exchange(ref _slowestMs, 0);

    public void Dispose() => _listener.Dispose();

    public sealed record Snapshot(long Commands, IReadOnlyDictionary<string, long> Calls)
    {
        /// <summary>Per job between <paramref name="before"/> and this snapshot: database commands, grain calls, and the calls by method.</summary>
        public object PerJob(Snapshot before, int jobs)
        {
            var calls = Calls.Select(c => (c.Key, Count: c.Value - before.Calls.GetValueOrDefault(c.Key))).Where(c => c.Count > 0)
                .OrderByDescending(c => c.Count).ToList();
            return new
            {
                db_commands = Math.Round((Commands - before.Commands) / (double)jobs, 2),
                grain_calls = Math.Round(calls.Sum(c => c.Count) / (double)jobs, 2),
                by_method = calls.ToDictionary(c => c.Key, c => Math.Round(c.Count / (double)jobs, 2)),
            };
        }
    }
}
