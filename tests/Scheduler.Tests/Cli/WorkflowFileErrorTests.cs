using System.Net;
using System.Net.Sockets;
using Scheduler.Cli;

namespace Scheduler.Tests.Cli;

/// <summary>
/// A workflow file that is not a workflow is refused before anything is sent (exit code 2), with a message that says
/// where (line and column as an editor shows them, and which job) and what is wrong, in the file's own terms.
/// </summary>
public sealed class WorkflowFileErrorTests
{
    [Theory]
    [InlineData("{\n  \"jobs\": [\n    { \"name\": \"a\" \"command\": [\"/bin/true\"] }\n  ]\n}",
        "line 3, column 19: not valid JSON")]
    [InlineData("{\n  \"jobs\": [\n    { \"name\": \"a\", \"command\": [\"/bin/true\"] }\n",
        "line 4, column 1: not valid JSON (the file ends before every { and [ is closed)")]
    [InlineData("{\n  \"jobs\": [\n    { \"name\": \"unpack\", \"comand\": [\"/bin/true\"] }\n  ]\n}",
        "line 3, column 34, job #1 ('unpack'): unknown setting \"comand\" (a job's settings are name, command,")]
    [InlineData("{\n  \"name\": \"x\",\n  \"priorty\": 5,\n  \"jobs\": []\n}",
        "line 3, column 13: unknown setting \"priorty\" (a workflow's settings are name, tenant, priority,")]
    [InlineData("{\n  \"priority\": \"high\",\n  \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"] } ]\n}",
        "line 2, column 21: \"priority\" must be a whole number (0 to 100)")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": \"/bin/true\" } ] }",
        "line 1, column 50, job #1 ('a'): \"command\" must be a list of strings: the executable, then its arguments")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"dependsOn\": [7] } ] }",
        "job #1 ('a'): a dependency is a job name or { \"job\": \"name\", \"policy\": \"RunAnyway\" }")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"keys\": [\"upload:1=x\"] } ] }",
        "job #1 ('a'): key 'upload:1=x': the limit after '=' must be a whole number")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"keys\": \"upload:1\" } ] }",
        "job #1 ('a'): \"keys\" must be a list of concurrency keys, each \"KEY\" or \"KEY=LIMIT\"")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"keys\": [\"bad!\"] } ] }",
        "concurrency key 'bad!' is not valid")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"keys\": [\"upload:1=0\"] } ] }",
        "limit 0 of concurrency key 'upload:1' is out of range")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"exclusive\": \"shard\" } ] }",
        "job #1 ('a'): \"exclusive\" 'shard' is not a scope: use queue or cluster")]
    [InlineData("{ \"jobs\": [ { \"name\": \"a\", \"command\": [\"/bin/true\"], \"exclusive\": true } ] }",
        "job #1 ('a'): \"exclusive\" must be a string: queue or cluster (or none)")]
    [InlineData("{ \"jobs\": {} }", "line 1, column 12: \"jobs\" must be a list of jobs")]
    [InlineData("[]", "line 1, column 2: a workflow file is a JSON object")]
    [InlineData(" \n ", "is empty")]
    public async Task Submit_SaysWhereAndWhatIsWrong_WhenTheFileIsNotAWorkflow(string content, string message)
    {
        var file = Path.Combine(Path.GetTempPath(), $"workflow-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, content);
        try
        {
            var run = await CliRun.RunAsync(["workflow", "submit", file, "--gateway", $"127.0.0.1:{FreeLoopbackPort()}", "--connect-timeout", "1s"], _ => null);

            Assert.True(run.ExitCode == ExitCodes.Usage, $"exit code {run.ExitCode}, stderr: {run.Stderr}");
            Assert.Contains($"workflow file '{file}'", run.Stderr);
            Assert.Contains(message, run.Stderr);
            Assert.DoesNotContain("LineNumber", run.Stderr);
            Assert.DoesNotContain("BytePositionInLine", run.Stderr);
            Assert.DoesNotContain("Dto", run.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
