using System.Text.Json;
using Scheduler.Cli;
using Scheduler.Tests.EndToEnd;

namespace Scheduler.Tests.Schedules;

/// <summary>The <c>scheduler schedule</c> commands, in process, against a real silo host (embedded storage).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ScheduleCliTests(SiloHostFixture fixture) : IDisposable
{
    private static string Sample => Path.Combine(AppContext.BaseDirectory, "samples", "nightly-rescan.schedule.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("schedule-cli-").FullName;
    private readonly string _id = "cli-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<CliRun> CliAsync(CancellationToken cancellationToken, params string[] args) => EndToEnd.EndToEnd.CliAsync(fixture.Settings, cancellationToken, args);

    private string Write(string json)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The sample with this test's id.</summary>
    private string SampleFile() => Write(File.ReadAllText(Sample).Replace("\"nightly-rescan\"", $"\"{_id}\""));

    [Fact]
    public async Task CreateShowTriggerPauseResumeDelete_RoundTrip()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(90);

        var create = await CliAsync(cts.Token, "schedule", "create", SampleFile());
        Assert.True(create.ExitCode == ExitCodes.Ok, create.ToString());
        // December: Berlin is on UTC+1.
        Assert.Matches($@"^created {_id}; next run \d{{4}}-\d\d-\d\d 03:00:00 \+01:00", create.Out);

        var show = await CliAsync(cts.Token, "schedule", "show", _id, "--next", "3");
        Assert.True(show.ExitCode == ExitCodes.Ok, show.ToString());
        Assert.Matches(@"(?m)^trigger:\s+cron '0 3 \* \* \*' Europe/Berlin$", show.Out);
        Assert.Matches(@"(?m)^state:\s+active$", show.Out);
        Assert.Matches(@"(?m)^jitter:\s+00:02:00$", show.Out);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(show.Out, @"(?m)^  \d{4}-\d\d-\d\d 03:00:00 \+01:00$").Count);

        var trigger = await CliAsync(cts.Token, "schedule", "trigger", _id);
        Assert.True(trigger.ExitCode == ExitCodes.Ok, trigger.ToString());
        var runId = trigger.Out.Split(' ')[0];
        Assert.True(JobId.TryParse(runId, out _), trigger.ToString());
        var wait = await CliAsync(cts.Token, "status", runId, "--wait");
        Assert.True(wait.ExitCode == ExitCodes.Ok, wait.ToString());

        CliRun shown;
        do
        {
            shown = await CliAsync(cts.Token, "schedule", "show", _id, "--json");
            Assert.True(shown.ExitCode == ExitCodes.Ok, shown.ToString());
        } while (!shown.Out.Contains("\"Succeeded\"") && !cts.IsCancellationRequested);
        using (var document = JsonDocument.Parse(shown.Out))
        {
            var run = Assert.Single(document.RootElement.GetProperty("lastRuns").EnumerateArray());
            Assert.Equal(runId, run.GetProperty("runId").GetString());
            Assert.Equal("Manual", run.GetProperty("reason").GetString());
        }
        show = await CliAsync(cts.Token, "schedule", "show", _id);
        Assert.Matches($@"(?m)^  \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \+01:00\s+Manual\s+Succeeded\s+job {runId}$", show.Out);

        var pause = await CliAsync(cts.Token, "schedule", "pause", _id, "--note", "database migration");
        Assert.True(pause.ExitCode == ExitCodes.Ok, pause.ToString());
        show = await CliAsync(cts.Token, "schedule", "show", _id);
        Assert.Matches(@"(?m)^state:\s+paused$", show.Out);
        Assert.Matches(@"(?m)^note:\s+database migration$", show.Out);
        var list = await CliAsync(cts.Token, "schedule", "list");
        Assert.Matches($@"(?m)^{_id}\s+cron '0 3 \* \* \*' Europe/Berlin\s+paused\s+1\s", list.Out);

        var resume = await CliAsync(cts.Token, "schedule", "resume", _id);
        Assert.True(resume.ExitCode == ExitCodes.Ok, resume.ToString());
        Assert.Equal($"resumed {_id}", resume.Out.Trim());

        var delete = await CliAsync(cts.Token, "schedule", "delete", _id);
        Assert.True(delete.ExitCode == ExitCodes.Ok, delete.ToString());
        var gone = await CliAsync(cts.Token, "schedule", "show", _id);
        Assert.Equal(ExitCodes.Failed, gone.ExitCode);
        Assert.Contains($"schedule {_id} not found", gone.Error);
    }

    [Theory]
    [InlineData("\"cron\": \"0 25 * * *\"", "cron field 2 (hour) is '25'")]
    [InlineData("\"cron\": \"0 3 * * *\", \"timeZone\": \"Mars/Olympus\"", "unknown time zone 'Mars/Olympus'")]
    [InlineData("\"every\": \"500ms\"", "under 1 second")]
    [InlineData("\"every\": \"1h\", \"start\": \"2027-01-02T00:00:00Z\", \"end\": \"2027-01-01T00:00:00Z\"", "is not after start")]
    [InlineData("\"every\": \"1h\", \"overlap\": \"Sometimes\"", "overlap 'Sometimes' is not one of Skip, BufferOne, AllowAll, CancelPrevious")]
    [InlineData("\"every\": \"1h\", \"evry\": \"1h\"", "unknown setting evry")]
    public async Task Create_RefusesABadFile_WithWhatToFix_AndSendsNothing(string trigger, string expected)
    {
        using var cts = EndToEnd.EndToEnd.Timeout(60);
        var file = Write($$"""{ "id": "{{_id}}", {{trigger}}, "job": { "command": ["/bin/true"] } }""");

        var create = await CliAsync(cts.Token, "schedule", "create", file);

        Assert.True(create.ExitCode == ExitCodes.Usage, create.ToString());
        Assert.Contains(expected, create.Error);
        var show = await CliAsync(cts.Token, "schedule", "show", _id);
        Assert.Equal(ExitCodes.Failed, show.ExitCode);
    }

    [Fact]
    public async Task Create_RefusesAJobTemplateTheSilosWouldRefuse()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(60);
        var file = Write($$"""{ "id": "{{_id}}", "every": "1h", "job": { "command": ["/bin/true"], "queue": "no-such-queue" } }""");

        var create = await CliAsync(cts.Token, "schedule", "create", file);

        Assert.True(create.ExitCode == ExitCodes.Failed, create.ToString());
        Assert.Contains("job template: unknown queue 'no-such-queue'", create.Error);
        Assert.Equal(ExitCodes.Failed, (await CliAsync(cts.Token, "schedule", "show", _id)).ExitCode);
    }

    [Fact]
    public async Task Backfill_RunsEachOccurrenceOfThePastRange_AndAgainRunsNothingNew()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(120);
        var file = Write($$"""{ "id": "{{_id}}", "cron": "0 3 * * *", "timeZone": "Europe/Berlin", "job": { "command": ["/bin/true"] } }""");
        Assert.Equal(ExitCodes.Ok, (await CliAsync(cts.Token, "schedule", "create", file)).ExitCode);
        // Two whole days ending at a past midnight UTC: two nights at 03:00 Berlin time (01:00 or 02:00 UTC).
        var to = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);
        var range = new[] { "--from", to.AddDays(-2).ToString("O"), "--to", to.ToString("O") };

        var first = await CliAsync(cts.Token, ["schedule", "backfill", _id, .. range, "--json"]);
        var again = await CliAsync(cts.Token, ["schedule", "backfill", _id, .. range, "--json"]);

        Assert.True(first.ExitCode == ExitCodes.Ok, first.ToString());
        Assert.True(again.ExitCode == ExitCodes.Ok, again.ToString());
        var runs = JsonDocument.Parse(first.Out).RootElement.EnumerateArray().Select(r => r.GetProperty("runId").GetString()).ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal(runs, JsonDocument.Parse(again.Out).RootElement.EnumerateArray().Select(r => r.GetProperty("runId").GetString()));
        var show = await CliAsync(cts.Token, "schedule", "show", _id);
        Assert.Equal(2, show.Out.Split('\n').Count(line => line.Contains("Backfill", StringComparison.Ordinal)));
        Assert.Equal(ExitCodes.Ok, (await CliAsync(cts.Token, "schedule", "delete", _id)).ExitCode);
    }

    [Fact]
    public async Task Backfill_RefusesARangeGivenBackwards()
    {
        using var cts = EndToEnd.EndToEnd.Timeout(60);

        var backfill = await CliAsync(cts.Token, "schedule", "backfill", _id, "--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z");

        Assert.True(backfill.ExitCode == ExitCodes.Usage, backfill.ToString());
        Assert.Contains("--to is before --from", backfill.Error);
    }
}
