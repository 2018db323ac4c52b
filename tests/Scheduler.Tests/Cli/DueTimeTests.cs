using Scheduler.Cli;

namespace Scheduler.Tests.Cli;

/// <summary>
/// <c>--at</c>, <c>--in</c> and <c>--now</c> without a silo: bad times are refused with exit code 2 and a message that
/// says what to fix, before anything connects; good ones give the due time meant.
/// </summary>
public sealed class DueTimeTests
{
    private const string SomeId = "0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80";
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 22, 48, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("--at '2026-12-07T03:00:00' has no time zone: add Z for UTC (e.g. 2026-12-07T03:00:00Z) or an offset such as +01:00", "submit", "--at", "2026-12-07T03:00:00", "--", "/bin/true")]
    [InlineData("--at 'tomorrow' is not an ISO 8601 time with Z or an offset", "submit", "--at", "tomorrow", "--", "/bin/true")]
    [InlineData("--in '10' is not a duration", "submit", "--in", "10", "--", "/bin/true")]
    [InlineData("--in '-5m' is not a duration", "submit", "--in", "-5m", "--", "/bin/true")]
    [InlineData("give --at or --in, not both", "submit", "--at", "2026-12-07T03:00:00Z", "--in", "10m", "--", "/bin/true")]
    [InlineData("is too far ahead: a job may be delayed by at most 10 years", "submit", "--at", "2099-01-01T00:00:00Z", "--", "/bin/true")]
    [InlineData("--at '2026-12-07 03:00' has no time zone", "workflow", "submit", "missing.json", "--at", "2026-12-07 03:00")]
    [InlineData("give --at or --in, not both", "workflow", "submit", "missing.json", "--at", "2026-12-07T03:00:00Z", "--in", "1h")]
    [InlineData("give one of --at, --in or --now", "reschedule", SomeId)]
    [InlineData("give one of --at, --in or --now", "reschedule", SomeId, "--now", "--in", "5m")]
    [InlineData("'nope' is not a job id", "reschedule", "nope", "--now")]
    [InlineData("give one of --at, --in or --now", "workflow", "reschedule", SomeId, "--at", "2026-12-07T03:00:00Z", "--now")]
    [InlineData("--in 'soon' is not a duration", "workflow", "reschedule", SomeId, "--in", "soon")]
    public async Task RunAsync_ReturnsUsageErrorSayingWhatToFix_WhenTheDueTimeIsInvalid(string message, params string[] args)
    {
        // Port 1 on loopback is closed: a command line wrongly accepted fails to connect (exit code 3), not 2.
        var run = await CliRun.RunAsync([.. args, "--gateway", "127.0.0.1:1", "--connect-timeout", "1s"], _ => null);

        Assert.True(run.ExitCode == ExitCodes.Usage, $"exit code {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(message, run.Stderr);
        Assert.Empty(run.Stdout);
    }

    [Theory]
    [InlineData("2026-12-07T03:00:00Z", "2026-12-07T03:00:00+00:00")]
    [InlineData("2026-12-07T04:00:00+01:00", "2026-12-07T03:00:00+00:00")]
    [InlineData("2026-12-07T03:00:00.250Z", "2026-12-07T03:00:00.250+00:00")]
    public void Read_GivesTheInstantMeant_ForAnAtTimeWithZOrAnOffset(string at, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), DueTime.Read(at, null, Now));
    }

    [Fact]
    public void Read_AddsTheDurationToNow_ForIn()
    {
        Assert.Equal(Now.AddMinutes(10), DueTime.Read(null, "10m", Now));
        Assert.Equal(Now.AddMilliseconds(1500), DueTime.Read(null, "1.5s", Now));
        Assert.Null(DueTime.Read(null, null, Now));
    }

    [Theory]
    [InlineData(4 * 3600 + 12 * 60 + 30, "2026-12-07T03:00:00Z (in 4h 12m)")]
    [InlineData(45, "2026-12-07T03:00:00Z (in 45s)")]
    [InlineData(3 * 86400 + 7200, "2026-12-07T03:00:00Z (in 3d 2h)")]
    [InlineData(-125, "2026-12-07T03:00:00Z (2m 5s ago)")]
    public void Describe_GivesTheTimeAndHowFarOffItIs(int secondsLeft, string expected)
    {
        var due = new DateTimeOffset(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);

        Assert.Equal(expected, DueTime.Describe(due, due.AddSeconds(-secondsLeft)));
    }
}
