using Cronos;

namespace Scheduler;

/// <summary>
/// The occurrences of a valid schedule: its trigger (cron in its time zone, or a fixed interval) bounded by its start
/// and end. Pure; every time it returns is in the schedule's time zone (its offset there at that instant).
/// </summary>
public sealed class ScheduleClock
{
    private readonly CronExpression? _cron;
    private readonly TimeSpan _interval;
    private readonly DateTimeOffset _anchor;
    private readonly DateTimeOffset? _start;
    private readonly DateTimeOffset? _end;

    private ScheduleClock(CronExpression? cron, TimeSpan interval, TimeZoneInfo zone, DateTimeOffset anchor, DateTimeOffset? start, DateTimeOffset? end)
    {
        _cron = cron;
        _interval = interval;
        Zone = zone;
        _anchor = anchor;
        _start = start;
        _end = end;
    }

    /// <summary>The schedule's time zone.</summary>
    public TimeZoneInfo Zone { get; }

    /// <summary>
    /// The clock of <paramref name="definition"/> (which must be valid: see <see cref="ScheduleValidation"/>), for a
    /// schedule created at <paramref name="createdAt"/>: an interval counts from the start, else from the creation.
    /// </summary>
    public static ScheduleClock Of(ScheduleDefinition definition, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var trigger = definition.Trigger;
        var zone = ScheduleValidation.FindZone(trigger.TimeZone)
            ?? throw new ArgumentException($"unknown time zone '{trigger.TimeZone}'", nameof(definition));
        var cron = trigger.Cron is { } text ? ScheduleValidation.ParseCron(text) : null;
        return new ScheduleClock(cron, trigger.Interval ?? TimeSpan.Zero, zone, definition.StartAt ?? createdAt, definition.StartAt, definition.EndAt);
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>; null when there is none (past the end).</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after)
    {
        DateTimeOffset? next;
        if (_start is { } start && after < start)
            next = First(start);
        else if (_cron is not null)
            next = _cron.GetNextOccurrence(after, Zone, inclusive: false);
        else
        {
            var steps = after < _anchor ? 0 : (after - _anchor).Ticks / _interval.Ticks + 1;
            next = _anchor + TimeSpan.FromTicks(_interval.Ticks * steps);
        }
        if (next is not { } found || (_end is { } end && found > end))
            return null;
        return TimeZoneInfo.ConvertTime(found, Zone);
    }

    /// <summary>Occurrences from <paramref name="from"/> to <paramref name="to"/>, both included, oldest first, at most <paramref name="max"/>.</summary>
    public List<DateTimeOffset> Between(DateTimeOffset from, DateTimeOffset to, int max)
    {
        var found = new List<DateTimeOffset>();
        var cursor = from - TimeSpan.FromTicks(1);
        while (found.Count < max && NextAfter(cursor) is { } next && next <= to)
        {
            found.Add(next);
            cursor = next;
        }
        return found;
    }

    /// <summary>The next <paramref name="count"/> occurrences after <paramref name="after"/>.</summary>
    public List<DateTimeOffset> Next(DateTimeOffset after, int count)
    {
        var found = new List<DateTimeOffset>(count);
        var cursor = after;
        while (found.Count < count && NextAfter(cursor) is { } next)
        {
            found.Add(next);
            cursor = next;
        }
        return found;
    }

    private DateTimeOffset? First(DateTimeOffset start) =>
        _cron is not null ? _cron.GetNextOccurrence(start, Zone, inclusive: true) : start;
}
