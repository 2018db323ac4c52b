using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary>The <c>scheduler</c> CLI, in process, against a real silo host on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CliEndToEndTests(SiloHostFixture fixture)
{
    private SiloSettings Silo => fixture.Settings;

    [Fact]
    public async Task SubmitWait_SucceedsAndRecordsOutput_WhenCommandExitsZero()
    {
        using var cts = EndToEnd.Timeout(60);

        var submit = await EndToEnd.CliAsync(Silo, cts.Token,
            "submit", "--wait", "--", "/bin/sh", "-c", "echo hello; echo oops >&2; exit 0");

        Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
        Assert.Matches(@"(?m)^state:\s+Succeeded\s*$", submit.Out);
        var id = EndToEnd.SubmittedId(submit);

        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", id.ToString());
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^state:\s+Succeeded\s*$", status.Out);
        Assert.Matches(@"(?m)^attempt:\s+1/3\s*$", status.Out);

        var logs = await EndToEnd.CliAsync(Silo, cts.Token, "logs", id.ToString());
        Assert.True(logs.ExitCode == ExitCodes.Ok, logs.ToString());
        var lines = logs.Out.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("[stdout] hello", lines);
        Assert.Contains("[stderr] oops", lines);

        var list = await EndToEnd.CliAsync(Silo, cts.Token, "list", "--state", "Succeeded");
        Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
        Assert.Matches($@"(?m)^{id}\s+Succeeded\s", list.Out);
    }

    [Fact]
    public async Task SubmitWait_FailsAfterLastAttempt_WhenCommandKeepsExitingWithRetriableCode()
    {
        using var cts = EndToEnd.Timeout(60);

        var submit = await EndToEnd.CliAsync(Silo, cts.Token,
            "submit", "--wait", "--max-attempts", "2", "--", "/bin/sh", "-c", "exit 3");

        Assert.True(submit.ExitCode == ExitCodes.Failed, submit.ToString());
        Assert.Matches(@"(?m)^state:\s+Failed\s*$", submit.Out);
        Assert.Matches(@"(?m)^attempt:\s+2/2\s*$", submit.Out);
        Assert.Matches(@"(?m)^last error:.*exited with code 3\b", submit.Out);
        Assert.Contains("failed", submit.Error);

        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", EndToEnd.SubmittedId(submit).ToString());
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^state:\s+Failed\s*$", status.Out);
        Assert.Matches(@"(?m)^attempt:\s+2/2\s*$", status.Out);
        Assert.Matches(@"(?m)^last error:.*exited with code 3\b", status.Out);
    }

    [Fact]
    public async Task SubmitWait_FailsAfterOneAttempt_WhenExitCodeIsFatal()
    {
        using var cts = EndToEnd.Timeout(60);

        var submit = await EndToEnd.CliAsync(Silo, cts.Token,
            "submit", "--wait", "--fatal-exit-code", "4", "--", "/bin/sh", "-c", "exit 4");

        Assert.True(submit.ExitCode == ExitCodes.Failed, submit.ToString());
        Assert.Matches(@"(?m)^state:\s+Failed\s*$", submit.Out);
        Assert.Matches(@"(?m)^attempt:\s+1/3\s*$", submit.Out);
        Assert.Matches(@"(?m)^last error:.*exited with code 4\b", submit.Out);
    }

    [Fact]
    public async Task Cancel_CancelsAndJobNeverRuns_WhenJobIsQueuedBehindFullSlots()
    {
        using var cts = EndToEnd.Timeout(60);
        var marker = Path.Combine(Path.GetTempPath(), "scheduler-e2e-cancel-" + Guid.NewGuid().ToString("N"));

        // Occupy every slot of the silo (MaxConcurrentJobs = 2) ...
        var blockers = new List<string>();
        for (var i = 0; i < Silo.MaxConcurrentJobs; i++)
        {
            // Long enough that the slots stay full while the CLI (a process per command) submits and cancels.
            var blocker = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--", "/bin/sleep", "15");
            Assert.True(blocker.ExitCode == ExitCodes.Ok, blocker.ToString());
            blockers.Add(EndToEnd.SubmittedId(blocker).ToString());
        }
        foreach (var blocker in blockers)
            await WaitForStateAsync(blocker, "Running", cts.Token);

        // ... so this one waits in the queue.
        var queued = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--", "/usr/bin/touch", marker);
        Assert.True(queued.ExitCode == ExitCodes.Ok, queued.ToString());
        var id = EndToEnd.SubmittedId(queued).ToString();

        var cancel = await EndToEnd.CliAsync(Silo, cts.Token, "cancel", id, "--reason", "e2e test");
        Assert.True(cancel.ExitCode == ExitCodes.Ok, cancel.ToString());
        Assert.Contains($"cancelled {id}", cancel.Out);

        // Once the slots are free again the cancelled job must still not run.
        foreach (var blocker in blockers)
            await WaitForStateAsync(blocker, "Succeeded", cts.Token);
        await Task.Delay(TimeSpan.FromSeconds(1), cts.Token);

        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", id);
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^state:\s+Cancelled\s*$", status.Out);
        Assert.Matches(@"(?m)^attempt:\s+0/", status.Out);
        Assert.Matches(@"(?m)^started:\s+-\s*$", status.Out);
        Assert.False(File.Exists(marker), "the cancelled command ran");
    }

    [Fact]
    public async Task Cancel_AsksARunningJobToStop_AndItEndsCancelled()
    {
        using var cts = EndToEnd.Timeout(60);
        var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--", "/bin/sleep", "60");
        Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
        var id = EndToEnd.SubmittedId(submit).ToString();
        await WaitForStateAsync(id, "Running", cts.Token);

        var cancel = await EndToEnd.CliAsync(Silo, cts.Token, "cancel", id, "--reason", "no longer needed");
        Assert.True(cancel.ExitCode == ExitCodes.Ok, cancel.ToString());
        Assert.Contains($"cancel requested for {id}: its running attempt is told to stop", cancel.Out);

        var wait = await EndToEnd.CliAsync(Silo, cts.Token, "status", id, "--wait", "--timeout", "40s");
        Assert.True(wait.ExitCode == ExitCodes.Failed, wait.ToString());
        Assert.Matches(@"(?m)^state:\s+Cancelled\s*$", wait.Out);
        Assert.Contains($"job {id} cancelled: no longer needed", wait.Error);
        Assert.DoesNotContain("cancelled: cancelled", wait.Error);
    }

    [Fact]
    public async Task Submit_ExitsOneNamingHandler_WhenHandlerIsUnknown()
    {
        using var cts = EndToEnd.Timeout(60);

        var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--handler", "nope");

        Assert.True(submit.ExitCode == ExitCodes.Failed, submit.ToString());
        Assert.Contains("'nope'", submit.Error);
    }

    [Fact]
    public async Task Health_AnswersHealthy_WhenSiloRuns()
    {
        using var cts = EndToEnd.Timeout(30);
        using var http = new HttpClient { BaseAddress = new Uri(Silo.Url) };

        using var response = await http.GetAsync("/health", cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("Healthy", body);
    }

    private async Task WaitForStateAsync(string id, string state, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await EndToEnd.CliAsync(Silo, cancellationToken, "status", id);
            Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
            if (System.Text.RegularExpressions.Regex.IsMatch(status.Out, $@"(?m)^state:\s+{state}\s*$"))
                return;
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }
}
