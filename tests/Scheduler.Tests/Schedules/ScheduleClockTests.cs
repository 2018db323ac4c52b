namespace Scheduler.Tests.Schedules;

/// <summary>Occurrences from cron and interval triggers, in a time zone with daylight saving (pure: no silo).</summary>
public sealed class ScheduleClockTests
{
    private static ScheduleClock Clock(ScheduleTrigger trigger, DateTimeOffset? start = null, DateTimeOffset? end = null) =>
        ScheduleClock.Of(new ScheduleDefinition { Id = "t", Job = new JobRequest { Handler = "h" }, Trigger = trigger, StartAt = start, EndAt = end },
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Cron_InTheSpringGap_FiresOnceAtTheEndOfTheGap_InTheZonesOffset()
    {
        // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
        var clock = Clock(ScheduleTrigger.FromCron("30 2 * * *", "Europe/Berlin"));

        var next = clock.Next(new DateTimeOffset(2026, 3, 27, 12, 0, 0, TimeSpan.Zero), 3);

        Assert.Equal(
        [
            new DateTimeOffset(2026, 3, 28, 2, 30, 0, TimeSpan.FromHours(1)),
            new DateTimeOffset(2026, 3, 29, 3, 0, 0, TimeSpan.FromHours(2)),
            new DateTimeOffset(2026, 3, 30, 2, 30, 0, TimeSpan.FromHours(2)),
        ], next);
        Assert.Equal([TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(2)], next.Select(o => o.Offset));
    }

    [Fact]
    public void Cron_InTheRepeatedAutumnHour_FiresOnce()
    {
        // Europe/Berlin runs 02:00-03:00 twice on 2026-10-25.
        var clock = Clock(ScheduleTrigger.FromCron("30 2 * * *", "Europe/Berlin"));

        var next = clock.Next(new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero), 2);

        Assert.Equal(
        [
            new DateTimeOffset(2026, 10, 25, 2, 30, 0, TimeSpan.FromHours(2)),
            new DateTimeOffset(2026, 10, 26, 2, 30, 0, TimeSpan.FromHours(1)),
        ], next);
    }

    [Fact]
    public void Cron_EveryFifteenMinutes_FiresThroughBothPassesOfTheRepeatedHour()
    {
        var clock = Clock(ScheduleTrigger.FromCron("*/30 * * * *", "Europe/Berlin"));

        var next = clock.Between(new DateTimeOffset(2026, 10, 25, 2, 0, 0, TimeSpan.FromHours(2)), new DateTimeOffset(2026, 10, 25, 3, 0, 0, TimeSpan.FromHours(1)), 10);

        // Real time goes on: 4 half hours from 02:00 summer time to 03:00 winter time.
        Assert.Equal(5, next.Count);
        Assert.Equal(TimeSpan.FromMinutes(30), next[1] - next[0]);
        Assert.Equal(TimeSpan.FromMinutes(30), next[3] - next[2]);
    }

    [Fact]
    public void Cron_WithSeconds_FiresEveryTenSeconds()
    {
        var clock = Clock(ScheduleTrigger.FromCron("*/10 * * * * *"));

        var next = clock.Next(new DateTimeOffset(2026, 5, 1, 0, 0, 5, TimeSpan.Zero), 3);

        Assert.Equal([10, 20, 30], next.Select(o => o.Second));
    }

    [Fact]
    public void Interval_CountsFromTheStart_AndStopsAtTheEnd()
    {
        var start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = Clock(ScheduleTrigger.Every(TimeSpan.FromMinutes(10)), start, start.AddMinutes(25));

        Assert.Equal([start, start.AddMinutes(10), start.AddMinutes(20)], clock.Next(start.AddDays(-1), 10));
        Assert.Equal(start.AddMinutes(20), clock.NextAfter(start.AddMinutes(10)));
        Assert.Null(clock.NextAfter(start.AddMinutes(20)));
    }

    [Fact]
    public void RunIds_AreDerivedFromScheduleCreationAndOccurrence()
    {
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var at = new DateTimeOffset(2026, 3, 1, 3, 0, 0, TimeSpan.FromHours(1));

        Assert.Equal(ScheduleIds.RunIdOf("a", created, at), ScheduleIds.RunIdOf("a", created, at.ToUniversalTime()));
        Assert.NotEqual(ScheduleIds.RunIdOf("a", created, at), ScheduleIds.RunIdOf("b", created, at));
        Assert.NotEqual(ScheduleIds.RunIdOf("a", created, at), ScheduleIds.RunIdOf("a", created.AddTicks(1), at));
        Assert.NotEqual(ScheduleIds.RunIdOf("a", created, at), ScheduleIds.RunIdOf("a", created, at.AddSeconds(1)));
        Assert.Equal(ScheduleIds.JitterOf("a", at, TimeSpan.FromMinutes(5)), ScheduleIds.JitterOf("a", at, TimeSpan.FromMinutes(5)));
        Assert.InRange(ScheduleIds.JitterOf("a", at, TimeSpan.FromMinutes(5)), TimeSpan.Zero, TimeSpan.FromMinutes(5));
    }
}
