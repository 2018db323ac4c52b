using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary>Delayed jobs through the <c>scheduler</c> CLI, in process, against a real silo host on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DelayedCliTests(SiloHostFixture fixture)
{
    private SiloSettings Silo => fixture.Settings;

    [Fact]
    public async Task SubmitIn_ShowsTheJobWaitingWithItsDueTime_ThenRescheduleRunsItAtTheNewTime()
    {
        using var cts = EndToEnd.Timeout(90);

        var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--in", "1h", "--", "/bin/echo", "later");
        Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
        var id = EndToEnd.SubmittedId(submit).ToString();

        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", id);
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^state:\s+Queued, due \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (59m \d+s|1h)\)\s*$", status.Out);
        var list = await EndToEnd.CliAsync(Silo, cts.Token, "list", "--state", "Queued");
        Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
        Assert.Matches(@"(?m)^ID\s.*\sDUE\s*$", list.Out);
        Assert.Matches($@"(?m)^{id}\s+Queued\s.*\(in (59m|1h)", list.Out);

        var moved = await EndToEnd.CliAsync(Silo, cts.Token, "reschedule", id, "--in", "2s");
        Assert.True(moved.ExitCode == ExitCodes.Ok, moved.ToString());
        Assert.Contains($"{id} is due ", moved.Out);
        var done = await EndToEnd.CliAsync(Silo, cts.Token, "status", id, "--wait");
        Assert.True(done.ExitCode == ExitCodes.Ok, done.ToString());
        Assert.Matches(@"(?m)^state:\s+Succeeded\s*$", done.Out);

        var late = await EndToEnd.CliAsync(Silo, cts.Token, "reschedule", id, "--now");
        Assert.True(late.ExitCode == ExitCodes.Failed, late.ToString());
        Assert.Contains("has already finished; nothing to reschedule", late.Error);
    }
}
