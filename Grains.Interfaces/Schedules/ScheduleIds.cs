using System.Security.Cryptography;
using System.Text;

namespace Scheduler;

/// <summary>How the runs of a schedule are named, and the bounds of what a schedule keeps.</summary>
public static class ScheduleIds
{
    /// <summary>Most runs a schedule keeps in its row (the newest); older ones are dropped.</summary>
    public const int MaxRunsKept = 100;

    /// <summary>Most occurrences one backfill fires.</summary>
    public const int MaxBackfill = 1000;

    /// <summary>
    /// The id of the run (job or workflow) of the occurrence at <paramref name="occurrence"/> of the schedule
    /// <paramref name="scheduleId"/> created at <paramref name="createdAt"/>. Derived, never stored first: a re-fire of
    /// the same occurrence (after a crash, a failover, a duplicate tick) lands on the same job or workflow grain, whose
    /// submit is idempotent, so the occurrence runs once. The creation time is part of it, so a schedule deleted and
    /// created again under the same id runs its occurrences anew.
    /// </summary>
    public static Guid RunIdOf(string scheduleId, DateTimeOffset createdAt, DateTimeOffset occurrence)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheduleId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"scheduler.schedule\n{scheduleId}\n{createdAt.UtcTicks}\n{occurrence.UtcTicks}"), hash);
        // Shape the first 16 bytes as an RFC 9562 version 8 (custom) UUID, as job ids derived elsewhere are.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>
    /// How long after <paramref name="occurrence"/> its run starts, for a schedule with <paramref name="jitter"/>: the
    /// same for the same occurrence in every process, so a re-fire waits as long as the first firing did.
    /// </summary>
    public static TimeSpan JitterOf(string scheduleId, DateTimeOffset occurrence, TimeSpan? jitter)
    {
        if (jitter is not { Ticks: > 0 } max)
            return TimeSpan.Zero;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"scheduler.jitter\n{scheduleId}\n{occurrence.UtcTicks}"), hash);
        var fraction = BitConverter.ToUInt64(hash) / (double)ulong.MaxValue;
        // Whole milliseconds: what timers can honour.
        return TimeSpan.FromMilliseconds(Math.Floor(max.TotalMilliseconds * fraction));
    }
}
