using System.Diagnostics;

namespace Scheduler.Bench;

/// <summary>
/// What the benchmark process (client and in-process silos) spent in a measured window: garbage collections, their
/// pauses, and CPU time, to tell a latency tail caused by the runtime from one caused by waiting on storage.
/// </summary>
public sealed class RuntimeCounters
{
    private readonly long _allocated = GC.GetTotalAllocatedBytes();
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly int _gen1 = GC.CollectionCount(1);
    private readonly int _gen2 = GC.CollectionCount(2);
    private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly (long Busy, long Total)? _machine = MachineTicks();

    public long AllocatedSince => GC.GetTotalAllocatedBytes() - _allocated;

    /// <summary>The process's CPU time since this was made.</summary>
    public TimeSpan CpuSince => Process.GetCurrentProcess().TotalProcessorTime - _cpu;

    /// <summary>The window's figures: collections by generation, pause time, and the process's CPU as cores busy on average.</summary>
    public object Since() => new
    {
        gen0 = GC.CollectionCount(0) - _gen0,
        gen1 = GC.CollectionCount(1) - _gen1,
        gen2 = GC.CollectionCount(2) - _gen2,
        pause_ms = Math.Round((GC.GetTotalPauseDuration() - _pause).TotalMilliseconds, 1),
        process_cpu_cores = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds / Stopwatch.GetElapsedTime(_started).TotalSeconds, 2),
        machine_cpu_busy = MachineBusy(),
    };

    /// <summary>The share of the whole machine's CPU time that was busy (all processes: the database too), from /proc/stat on Linux.</summary>
    private double? MachineBusy() => (_machine, MachineTicks()) is ({ } before, { } after) && after.Total > before.Total
        ? Math.Round((after.Busy - before.Busy) / (double)(after.Total - before.Total), 3)
        : null;

    private static (long Busy, long Total)? MachineTicks()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal ...": idle and iowait are the idle time.
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            var total = fields.Take(8).Sum();
            return (total - fields[3] - fields[4], total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
