using Scheduler.Cli;
using Scheduler.Tests.EndToEnd;

namespace Scheduler.Tests.Queues;

/// <summary><c>scheduler priority</c>, <c>scheduler workflow priority</c> and <c>submit --size-hint</c>: bad input refused before connecting.</summary>
public sealed class PriorityCliValidationTests
{
    private const string SomeId = "0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80";

    [Theory]
    [InlineData("priority 101 is out of range: use 0 (lowest) to 100 (highest)", "priority", SomeId, "101")]
    [InlineData("priority -1 is out of range: use 0 (lowest) to 100 (highest)", "priority", SomeId, "-1")]
    [InlineData("'nope' is not a job id", "priority", "nope", "90")]
    [InlineData("priority 500 is out of range", "workflow", "priority", SomeId, "500")]
    [InlineData("size hint -5 must be 0 or more", "submit", "--size-hint", "-5", "--", "/bin/true")]
    public async Task Bad_input_is_refused_with_a_usage_error_naming_it(string message, params string[] args)
    {
        // Port 1 on loopback is closed: a command line wrongly accepted fails to connect (exit code 3), not 2.
        var run = await Scheduler.Tests.Cli.CliRun.RunAsync([.. args, "--gateway", "127.0.0.1:1", "--connect-timeout", "1s"], _ => null);

        Assert.True(run.ExitCode == ExitCodes.Usage, $"exit code {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(message, run.Stderr);
        Assert.Empty(run.Stdout);
    }
}

/// <summary><c>scheduler priority</c> against a real silo host on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class PriorityCliTests(SiloHostFixture fixture)
{
    [Fact]
    public async Task Priority_changes_a_delayed_jobs_priority_and_refuses_a_finished_one()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(90);
        var silo = fixture.Settings;

        var submit = await EndToEnd.EndToEnd.CliAsync(silo, cts.Token, "submit", "--in", "1h", "--", "/bin/echo", "later");
        Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
        var id = EndToEnd.EndToEnd.SubmittedId(submit).ToString();

        var changed = await EndToEnd.EndToEnd.CliAsync(silo, cts.Token, "priority", id, "85");
        Assert.True(changed.ExitCode == ExitCodes.Ok, changed.ToString());
        Assert.Contains($"{id} waits with priority 85", changed.Out);
        var status = await EndToEnd.EndToEnd.CliAsync(silo, cts.Token, "status", id);
        Assert.Matches(@"(?m)^priority:\s+85\s*$", status.Out);

        await EndToEnd.EndToEnd.CliAsync(silo, cts.Token, "cancel", id);
        var refused = await EndToEnd.EndToEnd.CliAsync(silo, cts.Token, "priority", id, "20");
        Assert.True(refused.ExitCode == ExitCodes.Failed, refused.ToString());
        Assert.Contains("has already finished: its priority can change only while it waits", refused.Error);
    }
}
