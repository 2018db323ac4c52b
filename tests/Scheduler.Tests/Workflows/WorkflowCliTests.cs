using System.Text.Json;
using Scheduler.Cli;
using Scheduler.Tests.EndToEnd;

namespace Scheduler.Tests.Workflows;

/// <summary>The <c>scheduler workflow</c> commands, in process, against a real silo host (embedded storage).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WorkflowCliTests(SiloHostFixture fixture)
{
    private static string Sample => Path.Combine(AppContext.BaseDirectory, "samples", "fossology-pipeline.json");

    private Task<CliRun> CliAsync(CancellationToken cancellationToken, params string[] args) => EndToEnd.EndToEnd.CliAsync(fixture.Settings, cancellationToken, args);

    [Fact]
    public async Task SubmitWait_RunsTheFossologySample_AndStatusPrintsItsJobsAsATree()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(120);

        var submit = await CliAsync(cts.Token, "workflow", "submit", Sample, "--wait");

        Assert.True(submit.ExitCode == ExitCodes.Ok, submit.ToString());
        var first = submit.Out.Split('\n', StringSplitOptions.TrimEntries)[0];
        Assert.True(WorkflowId.TryParse(first, out var id), submit.ToString());
        Assert.Matches(@"(?m)^state:\s+Succeeded\s*$", submit.Out);
        Assert.Matches(@"(?m)^jobs:\s+7: 7 Succeeded\s*$", submit.Out);

        var status = await CliAsync(cts.Token, "workflow", "status", id.ToString());
        Assert.True(status.ExitCode == ExitCodes.Ok, status.ToString());
        Assert.Matches(@"(?m)^name:\s+upload-4711\s*$", status.Out);
        Assert.Matches(@"(?m)^priority:\s+60 \(size hint 1200\)\s*$", status.Out);
        Assert.Matches(@"(?m)^JOB\s+STATE\s+RUN\s+ATTEMPT\s+STARTED\s+FINISHED\s+AFTER$", status.Out);
        Assert.Matches(@"(?m)^unpack\s+Succeeded\s+1\s+1\s", status.Out);
        Assert.Matches(@"(?m)^  adj2nest\s+Succeeded\s", status.Out);
        Assert.Matches(@"(?m)^    nomos\s+Succeeded\s", status.Out);
        Assert.Matches(@"(?m)^      reports\s+Succeeded\s.*\snomos, monk, ojo, copyright$", status.Out);

        var json = await CliAsync(cts.Token, "workflow", "status", id.ToString(), "--json");
        Assert.True(json.ExitCode == ExitCodes.Ok, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("Succeeded", document.RootElement.GetProperty("state").GetString());
        var nomos = document.RootElement.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("name").GetString() == "nomos");
        var logs = await CliAsync(cts.Token, "logs", nomos.GetProperty("jobId").GetString()!);
        Assert.Contains("[stdout] nomos: license scan", logs.Out);

        var pause = await CliAsync(cts.Token, "workflow", "pause", id.ToString());
        Assert.True(pause.ExitCode == ExitCodes.Failed, pause.ToString());
        Assert.Contains("only a running workflow can be paused", pause.Error);
    }

    [Fact]
    public async Task Submit_RefusesAFileWithACycle_BeforeSendingAnything()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(60);
        var file = Path.Combine(Path.GetTempPath(), $"cycle-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            { "jobs": [
                { "name": "a", "command": ["/bin/true"], "dependsOn": ["b"] },
                { "name": "b", "command": ["/bin/true"], "dependsOn": ["a"] } ] }
            """, cts.Token);
        try
        {
            var run = await CliAsync(cts.Token, "workflow", "submit", file);
            Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
            Assert.Matches("cycle: (a → b → a|b → a → b)", run.Error);

            await File.WriteAllTextAsync(file, """{ "jobs": [ { "name": "a", "comand": ["/bin/true"] } ] }""", cts.Token);
            var typo = await CliAsync(cts.Token, "workflow", "submit", file);
            Assert.True(typo.ExitCode == ExitCodes.Usage, typo.ToString());
            Assert.Contains($"workflow file '{file}', line 1, column 37, job #1 ('a'): unknown setting \"comand\"", typo.Error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
