using System.Text.RegularExpressions;
using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary><c>scheduler limits set|list|show|exclusive</c>, <c>submit --key|--exclusive</c> and workflow files' keys, in process, against a real silo host on loopback.</summary>
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

    [Fact]
    public async Task Exclusive_ShowsTheBarrierAndWaiters_AndACancelledWaitingHolderPassesTheBarrierOnAtOnce()
    {
        using var cts = EndToEnd.Timeout(90);
        // The host serves one queue; tests of this collection run one at a time, and each leaves the scope open.
        const string queue = "default", scope = "queue:default";

        var open = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", scope);
        Assert.True(open.ExitCode == ExitCodes.Ok, open.ToString());
        Assert.Matches(@"(?m)^barrier:\s+none \(the scope is open\)\s*$", open.Out);

        // A running job keeps the queue from draining, so the first exclusive job's barrier stays up.
        var blocker = EndToEnd.SubmittedId(await EndToEnd.CliAsync(Silo, cts.Token, "submit", "-q", queue, "--", "/bin/sleep", "60"));
        while ((await EndToEnd.CliAsync(Silo, cts.Token, "status", blocker.ToString())).Out is var text && !text.Contains("Running", StringComparison.Ordinal))
            await Task.Delay(100, cts.Token);
        var first = EndToEnd.SubmittedId(await EndToEnd.CliAsync(Silo, cts.Token, "submit", "-q", queue, "--exclusive", "queue", "--", "/bin/true"));
        CliRun show;
        while (!(show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", scope)).Out.Contains($"up for {first}", StringComparison.Ordinal))
            await Task.Delay(100, cts.Token);
        var second = EndToEnd.SubmittedId(await EndToEnd.CliAsync(Silo, cts.Token, "submit", "-q", queue, "--exclusive", "QUEUE", "-p", "70", "--", "/bin/true"));
        // The silos pull nothing more from the queue while it drains, so the second stays queued (or, had it been
        // pulled before its silo heard of the barrier, waits behind the first in the scope).
        show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", scope);
        Assert.True(Regex.IsMatch(show.Out, $@"(?m)^barrier:\s+\d+, up for {first} \(draining\)\s*$"), show.Out);
        Assert.True(Regex.IsMatch(show.Out, @"(?m)^  \S+: 1 running under barrier \d+\s*$"), show.Out);
        if (show.Out.Contains("waiting:   1", StringComparison.Ordinal))
            Assert.Matches($@"(?m)^  {second}  priority 70  since ", show.Out);
        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", first.ToString());
        Assert.Matches($@"(?m)^waiting:\s+waiting for exclusive use of {scope}: draining", status.Out);

        // Cancelling the waiting holder drops its barrier before the cancel returns, not at the scope's next check.
        Assert.Equal(ExitCodes.Ok, (await EndToEnd.CliAsync(Silo, cts.Token, "cancel", first.ToString())).ExitCode);
        show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", scope);
        Assert.DoesNotContain($"up for {first}", show.Out);

        Assert.Equal(ExitCodes.Ok, (await EndToEnd.CliAsync(Silo, cts.Token, "cancel", blocker.ToString())).ExitCode);
        var done = await EndToEnd.CliAsync(Silo, cts.Token, "status", second.ToString(), "--wait", "--timeout", "60s");
        Assert.True(done.ExitCode == ExitCodes.Ok, done.ToString());
        while (!(show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", scope)).Out.Contains("(the scope is open)", StringComparison.Ordinal))
            await Task.Delay(100, cts.Token);
    }

    [Fact]
    public async Task WorkflowFile_CarriesKeysAndExclusive()
    {
        using var cts = EndToEnd.Timeout(90);
        var key = $"upload:wf-{Guid.NewGuid():N}";
        const string queue = "default";
        var file = Path.Combine(Path.GetTempPath(), $"workflow-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""
            { "jobs": [ { "name": "scan", "queue": "{{queue}}", "command": ["/bin/sleep", "60"], "keys": ["{{key}}=2"], "exclusive": "queue" } ] }
            """, cts.Token);
        try
        {
            var submit = await EndToEnd.CliAsync(Silo, cts.Token, "workflow", "submit", file);
            Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
            var workflow = submit.Out.Trim();

            CliRun show;
            while (!(show = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "show", key)).Out.Contains("holders: 1", StringComparison.Ordinal))
                await Task.Delay(100, cts.Token);
            Assert.Matches(@"(?m)^limit:\s+2\s*$", show.Out);
            var job = Regex.Match(show.Out, @"(?m)^  (\S+)  attempt 1 ").Groups[1].Value;
            // The job takes its key, then its scope: the key may show it before the scope does.
            CliRun scope;
            while (!(scope = await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", $"queue:{queue}")).Out.Contains("(running)", StringComparison.Ordinal))
                await Task.Delay(100, cts.Token);
            Assert.Matches($@"(?m)^barrier:\s+\d+, up for {job} \(running\)\s*$", scope.Out);

            Assert.Equal(ExitCodes.Ok, (await EndToEnd.CliAsync(Silo, cts.Token, "workflow", "cancel", workflow)).ExitCode);
            while (!(await EndToEnd.CliAsync(Silo, cts.Token, "limits", "exclusive", $"queue:{queue}")).Out.Contains("(the scope is open)", StringComparison.Ordinal))
                await Task.Delay(100, cts.Token);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("limits exclusive queue:", "exclusive scope 'queue:' does not exist ('cluster' or 'queue:NAME'")]
    [InlineData("limits exclusive upload:4711", "exclusive scope 'upload:4711' does not exist")]
    [InlineData("submit --exclusive shard -- /bin/true", "--exclusive 'shard' is not a scope: use queue or cluster")]
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
