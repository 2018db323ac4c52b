using System.Text;
using Scheduler.Cli;
using Scheduler.Cli.Schedules;

namespace Scheduler.Tests.Schedules;

/// <summary>A schedule file's job template takes flow-control settings as a workflow file's jobs do.</summary>
public sealed class ScheduleFileTests
{
    private static ScheduleDefinition Parse(string job) =>
        ScheduleFile.Parse("nightly.json", Encoding.UTF8.GetBytes($$"""{ "id": "nightly", "every": "1h", "job": {{job}} }"""));

    [Fact]
    public void Parse_GivesTheTemplateItsKeysAndExclusiveScope()
    {
        var definition = Parse("""{ "command": ["/bin/true"], "keys": ["upload:4711", "dbhost:pg1=4"], "exclusive": "queue" }""");

        Assert.Equal<ConcurrencyKey>([new ConcurrencyKey("upload:4711"), new ConcurrencyKey("dbhost:pg1", 4)], definition.Job!.Concurrency.ToArray());
        Assert.Equal(ExclusiveScope.Queue, definition.Job.Exclusive);
        Assert.Empty(ScheduleValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes));
    }

    [Fact]
    public void Parse_LeavesATemplateWithoutThemUncontrolled()
    {
        var definition = Parse("""{ "command": ["/bin/true"] }""");

        Assert.Empty(definition.Job!.Concurrency);
        Assert.Equal(ExclusiveScope.None, definition.Job.Exclusive);
    }

    [Theory]
    [InlineData("""{ "command": ["/bin/true"], "keys": ["upload:1=x"] }""", "schedule file 'nightly.json', job: key 'upload:1=x': the limit after '=' must be a whole number")]
    [InlineData("""{ "command": ["/bin/true"], "keys": [null] }""", "schedule file 'nightly.json', job: a key is null")]
    [InlineData("""{ "command": ["/bin/true"], "exclusive": "shard" }""", "schedule file 'nightly.json', job: \"exclusive\" 'shard' is not a scope: use queue or cluster")]
    [InlineData("""{ "command": ["/bin/true"], "keys": "upload:1" }""", "keys is a list of strings")]
    public void Parse_RefusesKeysOrScopesWrittenWrongly_SayingWhatToFix(string job, string message)
    {
        var refused = Assert.Throws<UsageException>(() => Parse(job));

        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public void Check_RefusesAnInvalidKeyInTheTemplate()
    {
        var definition = Parse("""{ "command": ["/bin/true"], "keys": ["bad!"] }""");

        var error = Assert.Single(ScheduleValidation.Check(definition, JobRequest.DefaultMaxPayloadBytes));
        Assert.Contains("concurrency key 'bad!' is not valid", error.Message);
    }
}
