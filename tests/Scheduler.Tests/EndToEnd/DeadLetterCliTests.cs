using System.Text.Json;
using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary><c>scheduler dlq list|show|requeue|purge</c>, in process, against a real silo host on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class DeadLetterCliTests(SiloHostFixture fixture)
{
    private SiloSettings Silo => fixture.Settings;

    [Fact]
    public async Task Dlq_ListsShowsAndRequeuesAFailedJob_WhichThenSucceeds()
    {
        using var cts = EndToEnd.Timeout(90);
        using var dir = new Storage.TempDirectory();
        var marker = Path.Combine(dir.Path, "failed-once");
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..10];

        // Exit code 4 is fatal: the first run dead-letters the job; once requeued, the marker is there and it succeeds.
        var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--wait", "--tenant", tenant, "--max-attempts", "1", "--fatal-exit-code", "4",
            "--", "/bin/sh", "-c", $"if [ -e '{marker}' ]; then exit 0; fi; touch '{marker}'; echo broken >&2; exit 4");
        Assert.True(submit.ExitCode == ExitCodes.Failed, submit.ToString());
        var id = EndToEnd.SubmittedId(submit);

        var list = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "list", "--tenant", tenant);
        Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
        Assert.Matches($@"(?m)^{id}\s+Fatal\s+\S+ \S+\s+1\s+default\s+command\s+fatal in attempt 1: .*exited with code 4: broken$", list.Out);

        var json = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "list", "--tenant", tenant, "--json");
        Assert.True(json.ExitCode == ExitCodes.Ok, json.ToString());
        var letter = Assert.Single(JsonDocument.Parse(json.Out).RootElement.EnumerateArray());
        Assert.Equal(id.ToString(), letter.GetProperty("id").GetString());
        Assert.Equal("Fatal", letter.GetProperty("reason").GetString());

        var show = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "show", id.ToString());
        Assert.True(show.ExitCode == ExitCodes.Ok, show.ToString());
        Assert.Matches(@"(?m)^dead letter:\s+Fatal\s*$", show.Out);
        Assert.Matches(@"(?m)^last error:\s+fatal in attempt 1: .*exited with code 4: broken\s*$", show.Out);
        Assert.Matches(@"(?m)^history:\s*$", show.Out);
        Assert.Matches(@"(?m)^  \S+ \S+Z  Failed\s+attempt 1  \S+  fatal in attempt 1", show.Out);

        var requeue = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "requeue", id.ToString(), "--attempts", "2");
        Assert.True(requeue.ExitCode == ExitCodes.Ok, requeue.ToString());
        Assert.Equal($"requeued {id}", requeue.Out.Trim());

        var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", id.ToString(), "--wait", "--timeout", "60s");
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^state:\s+Succeeded\s*$", status.Out);
        Assert.Matches(@"(?m)^attempt:\s+2/3\s*$", status.Out);

        var notDead = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "show", id.ToString());
        Assert.True(notDead.ExitCode == ExitCodes.Failed, notDead.ToString());
        Assert.Contains($"job {id} is not in the dead-letter queue: it is Succeeded", notDead.Error);
        var again = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "requeue", id.ToString());
        Assert.True(again.ExitCode == ExitCodes.Failed, again.ToString());
        Assert.Contains($"job {id} is not in the dead-letter queue", again.Error);
    }

    [Fact]
    public async Task Dlq_PurgesById_AndByAge_AndThePurgedJobIsNotFound()
    {
        using var cts = EndToEnd.Timeout(90);
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..10];
        var ids = new List<JobId>();
        for (var i = 0; i < 3; i++)
        {
            var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--wait", "--tenant", tenant, "--fatal-exit-code", "4", "--", "/bin/sh", "-c", "exit 4");
            Assert.True(submit.ExitCode == ExitCodes.Failed, submit.ToString());
            ids.Add(EndToEnd.SubmittedId(submit));
        }

        var byId = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "purge", ids[0].ToString());
        Assert.True(byId.ExitCode == ExitCodes.Ok, byId.ToString());
        Assert.Equal($"purged {ids[0]}", byId.Out.Trim());
        var gone = await EndToEnd.CliAsync(Silo, cts.Token, "status", ids[0].ToString());
        Assert.True(gone.ExitCode == ExitCodes.Failed, gone.ToString());
        Assert.Contains($"job {ids[0]} not found", gone.Error);
        var history = await EndToEnd.CliAsync(Silo, cts.Token, "history", ids[0].ToString());
        Assert.True(history.ExitCode == ExitCodes.Failed, history.ToString());

        // Requeue the other two at once: each fails again (fatal) in its second attempt.
        var requeueAll = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "requeue", "--all", "--tenant", tenant, "--attempts", "1");
        Assert.True(requeueAll.ExitCode == ExitCodes.Ok, requeueAll.ToString());
        Assert.Equal(new[] { $"requeued {ids[1]}", $"requeued {ids[2]}" }.Order(), requeueAll.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());
        foreach (var id in ids.Skip(1))
        {
            var status = await EndToEnd.CliAsync(Silo, cts.Token, "status", id.ToString(), "--wait", "--timeout", "60s");
            Assert.Matches(@"(?m)^attempt:\s+2/2\s*$", status.Out);
            Assert.Matches(@"(?m)^dead letter:\s+Fatal\s*$", status.Out);
        }

        var tooYoung = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "purge", "--older-than", "1d", "--tenant", tenant);
        Assert.True(tooYoung.ExitCode == ExitCodes.Ok, tooYoung.ToString());
        Assert.Equal("purged 0 jobs", tooYoung.Out.Trim());

        var all = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "purge", "--all", "--tenant", tenant);
        Assert.True(all.ExitCode == ExitCodes.Ok, all.ToString());
        Assert.Equal("purged 2 jobs", all.Out.Trim());

        var list = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "list", "--tenant", tenant);
        Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
        Assert.Equal("ID  REASON  FAILED  ATTEMPT  QUEUE  HANDLER  LAST ERROR", list.Out.Trim());

        var missing = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "purge", ids[1].ToString());
        Assert.True(missing.ExitCode == ExitCodes.Failed, missing.ToString());
        Assert.Contains($"job {ids[1]} not found", missing.Error);
    }

    [Fact]
    public async Task ReadmeDeadLetterCommands_Work()
    {
        using var cts = EndToEnd.Timeout(90);

        // The commands of README.md's dead-letter section, in order.
        var submit = await EndToEnd.CliAsync(Silo, cts.Token, "submit", "--max-attempts", "1", "--", "/bin/sh", "-c", "exit 3");
        var id = EndToEnd.SubmittedId(submit).ToString();
        var failed = await EndToEnd.CliAsync(Silo, cts.Token, "status", id, "--wait", "--timeout", "30s");
        Assert.True(failed.ExitCode == ExitCodes.Failed, failed.ToString());
        Assert.Matches(@"(?m)^dead letter:\s+AttemptsExhausted\s*$", failed.Out);
        var list = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "list", "--limit", "20");
        Assert.Contains(id, list.Out);
        var show = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "show", id);
        Assert.True(show.ExitCode == ExitCodes.Ok, show.ToString());
        var requeue = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "requeue", id, "--attempts", "2");
        Assert.True(requeue.ExitCode == ExitCodes.Ok, requeue.ToString());
        var again = await EndToEnd.CliAsync(Silo, cts.Token, "status", id, "--wait", "--timeout", "30s");
        Assert.Matches(@"(?m)^state:\s+Failed\s*$", again.Out);
        Assert.Matches(@"(?m)^attempt:\s+3/3\s*$", again.Out);
        var purge = await EndToEnd.CliAsync(Silo, cts.Token, "dlq", "purge", id);
        Assert.True(purge.ExitCode == ExitCodes.Ok, purge.ToString());
    }
}
