using Microsoft.Extensions.Time.Testing;
using Scheduler.Schedules;

namespace Scheduler.Tests.Schedules;

/// <summary>
/// What a schedule fires as time goes by, with a clock the test moves (pure: no silo): catch-up after an outage or a
/// pause under each missed policy, and the nights daylight saving starts and ends.
/// </summary>
public sealed class SchedulePassTests
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScheduleDefinition Hourly(ScheduleMissedPolicy missed, TimeSpan? window = null) => new()
    {
        Id = "hourly",
        Job = new JobRequest { Handler = "h" },
        Trigger = ScheduleTrigger.FromCron("0 * * * *"),
        Missed = missed,
        CatchUpWindow = window,
    };

    private static SchedulePass Plan(ScheduleDefinition definition, DateTimeOffset handledUntil, TimeProvider time, bool allMissed = false) =>
        SchedulePass.Plan(definition.Id, definition, ScheduleClock.Of(definition, Created), handledUntil, time.GetUtcNow(), allMissed);

    private static DateTimeOffset At(int hour, int minute = 0, int second = 0) => new(2026, 6, 1, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void FireOnce_AfterAnOutage_FiresTheLatestMissedOccurrenceOnly()
    {
        var time = new FakeTimeProvider(At(13, 20));

        var pass = Plan(Hourly(ScheduleMissedPolicy.FireOnce), At(10), time);

        Assert.Equal([(At(13), ScheduleFireReason.CatchUp)], pass.Fire);
        Assert.Equal(At(13), pass.HandledUntil);
    }

    [Fact]
    public void FireOnce_WhenAnOccurrenceIsOnTime_ThatRunIsTheCatchUp()
    {
        var time = new FakeTimeProvider(At(13, 0, 2));

        var pass = Plan(Hourly(ScheduleMissedPolicy.FireOnce), At(10), time);

        Assert.Equal([(At(13), ScheduleFireReason.Scheduled)], pass.Fire);
    }

    [Fact]
    public void Lead_FiresAnOccurrenceOnceItsTimeIsWithinTheLead_NotEarlier()
    {
        var time = new FakeTimeProvider(At(12, 59, 59).AddMilliseconds(600));
        var lead = TimeSpan.FromMilliseconds(500);
        var definition = Hourly(ScheduleMissedPolicy.FireOnce);

        var ahead = SchedulePass.Plan(definition.Id, definition, ScheduleClock.Of(definition, Created), At(12), time.GetUtcNow(), false, lead);
        var tooEarly = SchedulePass.Plan(definition.Id, definition, ScheduleClock.Of(definition, Created), At(12), time.GetUtcNow() - lead, false, lead);

        Assert.Equal([(At(13), ScheduleFireReason.Scheduled)], ahead.Fire);
        Assert.Equal(At(13), ahead.HandledUntil);
        Assert.Empty(tooEarly.Fire);
        Assert.Null(tooEarly.HandledUntil);
    }

    [Fact]
    public void FireAll_FiresEveryMissedOccurrenceWithinTheWindow_OldestFirst()
    {
        var time = new FakeTimeProvider(At(13, 20));

        var pass = Plan(Hourly(ScheduleMissedPolicy.FireAll, TimeSpan.FromHours(2.5)), At(8), time);

        Assert.Equal([(At(11), ScheduleFireReason.CatchUp), (At(12), ScheduleFireReason.CatchUp), (At(13), ScheduleFireReason.CatchUp)], pass.Fire);
        Assert.Equal(At(13), pass.HandledUntil);
    }

    [Fact]
    public void Skip_DropsMissedOccurrences_AndFiresOnlyTheOneOnTime()
    {
        var time = new FakeTimeProvider(At(13, 20));
        var definition = Hourly(ScheduleMissedPolicy.Skip);

        var late = Plan(definition, At(10), time);
        time.SetUtcNow(At(14, 0, 1));
        var onTime = Plan(definition, late.HandledUntil!.Value, time);

        Assert.Empty(late.Fire);
        Assert.Equal(At(13), late.HandledUntil);
        Assert.Equal([(At(14), ScheduleFireReason.Scheduled)], onTime.Fire);
    }

    [Fact]
    public void AfterAPause_EveryOccurrenceDueIsMissed_EvenOneJustDue()
    {
        var time = new FakeTimeProvider(At(13, 0, 1));

        var fireOnce = Plan(Hourly(ScheduleMissedPolicy.FireOnce), At(11), time, allMissed: true);
        var skip = Plan(Hourly(ScheduleMissedPolicy.Skip), At(11), time, allMissed: true);

        Assert.Equal([(At(13), ScheduleFireReason.CatchUp)], fireOnce.Fire);
        Assert.Empty(skip.Fire);
        Assert.Equal(At(13), skip.HandledUntil);
    }

    [Fact]
    public void NothingIsDue_BeforeTheNextOccurrence()
    {
        var time = new FakeTimeProvider(At(13, 59, 59));

        var pass = Plan(Hourly(ScheduleMissedPolicy.FireAll), At(13), time);

        Assert.Empty(pass.Fire);
        Assert.Null(pass.HandledUntil);
    }

    [Theory]
    [InlineData(2026, 3, 28, "2026-03-29T03:00:00+02:00")] // 02:30 does not exist: the run comes at 03:00
    [InlineData(2026, 10, 24, "2026-10-25T02:30:00+02:00")] // 02:30 comes twice: one run, the first
    public void ADailyScheduleInTheNightOfAClockChange_RunsOnceOnTime(int year, int month, int day, string expected)
    {
        var definition = new ScheduleDefinition
        {
            Id = "nightly",
            Job = new JobRequest { Handler = "h" },
            Trigger = ScheduleTrigger.FromCron("30 2 * * *", "Europe/Berlin"),
        };
        var start = new DateTimeOffset(year, month, day, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var handled = start;
        var fired = new List<(DateTimeOffset, ScheduleFireReason)>();

        // A pass every second for a day, as the grain's timer would see it.
        while (time.GetUtcNow() < start.AddDays(1))
        {
            var pass = Plan(definition, handled, time);
            fired.AddRange(pass.Fire);
            handled = pass.HandledUntil ?? handled;
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var run = Assert.Single(fired);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), run.Item1);
        Assert.Equal(ScheduleFireReason.Scheduled, run.Item2);
    }
}
