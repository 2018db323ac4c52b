using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Schedules;

/// <summary>Every kind of bad schedule is refused with a message saying what to fix (pure: no silo).</summary>
public sealed class ScheduleValidationTests
{
    private static ScheduleDefinition Valid => new()
    {
        Id = "nightly-rescan",
        Job = Payloads.WorkJob(),
        Trigger = ScheduleTrigger.FromCron("0 3 * * *", "Europe/Berlin"),
    };

    private static string Problem(ScheduleDefinition definition) =>
        Assert.Single(ScheduleValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes)).Message;

    [Fact]
    public void Check_AcceptsAValidDefinition() => Assert.Empty(ScheduleValidation.Check(Valid, JobRequest.DefaultMaxPayloadBytes));

    [Theory]
    [InlineData("61 * * * *", "cron field 1 (minute) is '61'")]
    [InlineData("0 25 * * *", "cron field 2 (hour) is '25'")]
    [InlineData("0 3 32 * *", "cron field 3 (day of month) is '32'")]
    [InlineData("0 3 * 13 *", "cron field 4 (month) is '13'")]
    [InlineData("0 3 * * MONX", "cron field 5 (day of week) is 'MONX'")]
    [InlineData("75 0 3 * * *", "cron field 1 (second) is '75'")]
    [InlineData("0 3 * *", "has 4 fields: give 5")]
    [InlineData("@sometimes", "cron macro '@sometimes' is unknown")]
    public void Check_NamesTheWrongCronField(string cron, string expected)
    {
        var message = Problem(Valid with { Trigger = ScheduleTrigger.FromCron(cron) });
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Check_RefusesAnUnknownTimeZone() =>
        Assert.Contains("unknown time zone 'Europe/Atlantis': use an IANA name", Problem(Valid with { Trigger = ScheduleTrigger.FromCron("0 3 * * *", "Europe/Atlantis") }));

    [Fact]
    public void Check_RefusesAnIntervalUnderOneSecond() =>
        Assert.Contains("under 1 second: use 1 s or more", Problem(Valid with { Trigger = ScheduleTrigger.Every(TimeSpan.FromMilliseconds(500)) }));

    [Fact]
    public void Check_RefusesATriggerWithBothOrNeither()
    {
        Assert.Contains("not both and not neither", Problem(Valid with { Trigger = new ScheduleTrigger { Cron = "* * * * *", Interval = TimeSpan.FromSeconds(5) } }));
        Assert.Contains("not both and not neither", Problem(Valid with { Trigger = new ScheduleTrigger() }));
    }

    [Fact]
    public void Check_RefusesAnEndBeforeTheStart()
    {
        var start = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Contains("is not after start", Problem(Valid with { StartAt = start, EndAt = start.AddDays(-1) }));
    }

    [Fact]
    public void Check_RefusesATemplateThatWouldBeRefusedAsAJob()
    {
        Assert.Contains("job template: priority 500 is out of range", Problem(Valid with { Job = Payloads.WorkJob() with { Priority = 500 } }));
        Assert.Contains("job template: remove its id and idempotency key", Problem(Valid with { Job = Payloads.WorkJob() with { IdempotencyKey = "k" } }));
    }

    [Fact]
    public void Check_RefusesATemplateThatWouldBeRefusedAsAWorkflow()
    {
        var cyclic = new WorkflowDefinition
        {
            Jobs =
            [
                new WorkflowJob { Name = "a", Handler = "h", DependsOn = ["b"] },
                new WorkflowJob { Name = "b", Handler = "h", DependsOn = ["a"] },
            ],
        };
        var message = Problem(Valid with { Job = null, Workflow = cyclic });
        Assert.StartsWith("workflow template: ", message);
        Assert.Contains("cycle", message);
    }

    [Fact]
    public void Check_RefusesNoTemplateOrTwo()
    {
        Assert.Contains("needs a template", Problem(Valid with { Job = null }));
        Assert.Contains("not both", Problem(Valid with { Workflow = new WorkflowDefinition { Jobs = [new WorkflowJob { Name = "a", Handler = "h" }] } }));
    }

    [Fact]
    public void Check_RefusesBadIdsAndBounds()
    {
        Assert.Contains("schedule id 'nightly rescan' is not a valid name", Problem(Valid with { Id = "nightly rescan" }));
        Assert.Contains("max runs 0 must be 1 or more", Problem(Valid with { MaxRuns = 0 }));
        Assert.Contains("jitter 02:00:00 is out of range", Problem(Valid with { Jitter = TimeSpan.FromHours(2) }));
        Assert.Contains("catch-up window", Problem(Valid with { CatchUpWindow = TimeSpan.Zero }));
    }
}
