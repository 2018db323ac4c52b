using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary><c>scheduler limits set|list|show</c> and <c>submit --key</c>, in process, against a real silo host on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class LimitsCliTests(SiloHostFixture fixture)
{
    private SiloSettings Silo => fixture.Settings;

    [Fact]
    public async Task Limits_SetShowList_AndAWaitingJobSaysWhatItWaitsFor()
    {
        using var cts = EndToEnd.Timeout(90);
        var key = $"upload:cli-{Guid.NewGuid():N}";

        var set = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "set", key, "--limit", "1", "--rate", "100/1m");
        Assert.True(set.ExitCode == ExitCodes.Ok, set.ToString());
        Assert.Matches(@"(?m)^limit:\s+1\s*$", set.Out);
        Assert.Matches(@"(?m)^rate:\s+100 per 1 min\s*$", set.Out);
        Assert.Matches(@"(?m)^source:\s+runtime\s*$", set.Out);

        var holder = EndToEnd.SubmittedId(await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--key", key, "--", "/bin/sleep", "60"));
        while (!(await EndToEnd.CliAsync(Silo, cts.Token, "limits", "show", key)).Out.Contains("holders: 1", StringComparison.Ordinal))
            await Task.Delay(100, cts.Token);
        var waiter = EndToEnd.SubmittedId(await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--key", $"{key}=1", "--", "/bin/true"));
        CliRun show;
        while (!(show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "show", key)).Out.Contains("waiters: 1", StringComparison.Ordinal))
            await Task.Delay(100, cts.Token);

        Assert.Matches($@"(?m)^  {holder}  attempt 1  since ", show.Out);
        Assert.Matches($@"(?m)^  {waiter}  priority 50  since ", show.Out);
        Assert.Matches(@"(?m)^window:\s+1 of 100 starts in the last 1 min\s*$", show.Out);
        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", waiter.ToString());
        Assert.Matches($@"(?m)^waiting:\s+waiting for {key}: 1 of 1 held by {holder}\s*$", status.Out);
        var list = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "list");
        Assert.Matches($@"(?m)^{key}\s+1\s+100 per 1 min\s+1\s+1\s+runtime\s*$", list.Out);

        Assert.Equal(ExitCodes.Ok, (await EndToEnd.CliAsync(Silo, cts.Token, "cancel", holder.ToString())).ExitCode);
        var done = await EndToEnd.CliAsync(Silo, cts.Token, "status", waiter.ToString(), "--wait", "--timeout", "60s");
        Assert.True(done.ExitCode == ExitCodes.Ok, done.ToString());
    }

    [Theory]
    [InlineData("limits set bad! --limit 1", "key 'bad!' is not valid")]
    [InlineData("limits set ok:key --limit 0", "limit 0 of concurrency key 'ok:key' is out of range")]
    [InlineData("limits set ok:key --rate 5/500ms", "rate window of 'ok:key' is 0.5 s: use 1 s to 1 day")]
    [InlineData("limits set ok:key", "settings of 'ok:key' set neither a limit nor a rate")]
    [InlineData("submit --key a:b=x -- /bin/true", "--key 'a:b=x': the limit after '=' must be a whole number")]
    [InlineData("submit --key a:b=0 -- /bin/true", "limit 0 of concurrency key 'a:b' is out of range")]
    public async Task BadLimits_AreUsageErrors(string line, string message)
    {
        using var cts = EndToEnd.Timeout(30);
        var run = await EndToEnd.CliAsync(Silo, cts.Token, line.Split(' '));
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains(message, run.Error);
    }
}
