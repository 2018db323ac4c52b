using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Scheduler.Bench;

/// <summary>
/// What a flow-control burst costs, counted rather than timed (the machine is shared, counts are not noisy): grain
/// calls the silos received, by interface and method, and database commands (Npgsql's per-command duration
/// measurements, so Orleans' own grain-state writes and reminders count too).
/// </summary>
public sealed class FlowCounters : IIncomingGrainCallFilter, IDisposable
{
    // Keyed by the runtime's own interface and method name strings: counting a call allocates nothing, so the
    // allocations per job that a burst reports are the scheduler's own.
    private readonly ConcurrentDictionary<(string Interface, string Method), StrongBox<long>> _calls = new();
    private readonly MeterListener _listener = new();
    private long _commands;
    private long _bytesWritten;
    private long _bytesRead;
    private long _activations;
    private long _slowestMs;

    public FlowCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && (instrument.Name == "db.client.operation.duration"
                || instrument.Name.EndsWith("bytes_written", StringComparison.Ordinal) || instrument.Name.EndsWith("bytes_read", StringComparison.Ordinal)))
                listener.EnableMeasurementEvents(instrument);
            if (instrument.Meter.Name == "Microsoft.Orleans" && instrument.Name == "orleans-catalog-activation-created")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<int>((_, n, _, _) => Interlocked.Add(ref _activations, n));
        _listener.SetMeasurementEventCallback<long>((instrument, bytes, _, _) =>
        {
            if (instrument.Name.EndsWith("bytes_written", StringComparison.Ordinal))
                Interlocked.Add(ref _bytesWritten, bytes);
            else
                Interlocked.Add(ref _bytesRead, bytes);
        });
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
        var count = _calls.GetOrAdd((context.InterfaceName, context.MethodName), static _ => new StrongBox<long>());
        Interlocked.Increment(ref count.Value);
        return context.Invoke();
    }

    /// <summary>The counts so far.</summary>
    public Snapshot Take() => new(Interlocked.Read(ref _commands), Interlocked.Read(ref _bytesWritten), Interlocked.Read(ref _bytesRead),
        Interlocked.Read(ref _activations),
        _calls.GroupBy(c => $"{c.Key.Interface.Split('.')[^1]}.{c.Key.Method}", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(c => Interlocked.Read(ref c.Value.Value)), StringComparer.Ordinal));

    /// <summary>The slowest database command since the last call, in milliseconds (then starts again).</summary>
    public long TakeSlowestCommandMs() => Interlocked.Exchange(ref _slowestMs, 0);

    public void Dispose() => _listener.Dispose();

    public sealed record Snapshot(long Commands, long BytesWritten, long BytesRead, long Activations, IReadOnlyDictionary<string, long> Calls)
    {
        /// <summary>Per job between <paramref name="before"/> and this snapshot: database commands, grain calls, and the calls by method.</summary>
        public object PerJob(Snapshot before, int jobs)
        {
            var calls = Calls.Select(c => (c.Key, Count: c.Value - before.Calls.GetValueOrDefault(c.Key))).Where(c => c.Count > 0)
                .OrderByDescending(c => c.Count).ToList();
            return new
            {
                db_commands = Math.Round((Commands - before.Commands) / (double)jobs, 2),
                db_bytes_sent = Math.Round((BytesWritten - before.BytesWritten) / (double)jobs),
                grain_calls = Math.Round(calls.Sum(c => c.Count) / (double)jobs, 2),
                by_method = calls.ToDictionary(c => c.Key, c => Math.Round(c.Count / (double)jobs, 2)),
            };
        }

        /// <summary>Per job between <paramref name="before"/> and this snapshot, with the bytes allocated meanwhile: what a cost budget checks.</summary>
        public JobCosts Costs(Snapshot before, int jobs, long allocatedBytes) => new(
            GrainCalls: Math.Round((Calls.Values.Sum() - before.Calls.Values.Sum()) / (double)jobs, 2),
            Activations: Math.Round((Activations - before.Activations) / (double)jobs, 2),
            DbCommands: Math.Round((Commands - before.Commands) / (double)jobs, 2),
            DbBytesSent: Math.Round((BytesWritten - before.BytesWritten) / (double)jobs),
            DbBytesReceived: Math.Round((BytesRead - before.BytesRead) / (double)jobs),
            AllocatedKb: Math.Round(allocatedBytes / 1024.0 / jobs, 1),
            ByMethod: Calls.Select(c => (c.Key, Count: c.Value - before.Calls.GetValueOrDefault(c.Key))).Where(c => c.Count > 0)
                .OrderByDescending(c => c.Count).ToDictionary(c => c.Key, c => Math.Round(c.Count / (double)jobs, 2), StringComparer.Ordinal));
    }
}
