using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Scheduler.Cli;
using Xunit;

namespace Scheduler.Tests.Cli;

/// <summary>
/// The CLI without a silo: every bad command line is refused with exit code 2 and a message naming the bad value,
/// before anything connects; an unreachable gateway gives exit code 3 within the connect timeout.
/// The gateway points at a closed loopback port, so a test that wrongly connected would fail with 3, not pass.
/// </summary>
public sealed class CliValidationTests
{
    private const string SomeId = "0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80";

    [Theory]
    [InlineData("status", "not-a-guid")]
    [InlineData("status", "00000000-0000-0000-0000-000000000000")]
    [InlineData("cancel", "12345")]
    [InlineData("logs", "job-1")]
    public async Task RunAsync_ReturnsUsageErrorNamingId_WhenJobIdIsInvalid(string command, string id)
    {
        var run = await RunAsync(command, id);

        AssertUsageError(run, $"'{id}' is not a job id");
    }

    [Theory]
    [InlineData("101")]
    [InlineData("-1")]
    public async Task RunAsync_ReturnsUsageErrorNamingPriority_WhenPriorityIsOutOfRange(string priority)
    {
        var run = await RunAsync("submit", "--priority", priority, "--", "/bin/true");

        AssertUsageError(run, $"priority {priority} is out of range: use 0 (lowest) to 100 (highest)");
    }

    [Theory]
    [InlineData("retry multiplier 20 is out of range: use 1.0 to 10.0", "--retry-multiplier", "20")]
    [InlineData("--retry-delay '5x'", "--retry-delay", "5x")]
    [InlineData("--retry-max-delay '-1s'", "--retry-max-delay", "-1s")]
    [InlineData("retry initial delay 8.00:00:00 is out of range: use 0 to 7 days", "--retry-delay", "8d")]
    [InlineData("retry max delay 00:00:01 is shorter than the initial delay 00:00:05", "--retry-delay", "5s", "--retry-max-delay", "1s")]
    [InlineData("--retry-jitter 'sometimes' is not one of none, full, equal", "--retry-jitter", "sometimes")]
    [InlineData("--retry-jitter '1' is not one of none, full, equal", "--retry-jitter", "1")]
    public async Task RunAsync_ReturnsUsageErrorNamingTheRetrySetting_WhenItIsInvalid(string message, params string[] options)
    {
        var run = await RunAsync(["submit", .. options, "--", "/bin/true"]);

        AssertUsageError(run, message);
    }

    [Theory]
    [InlineData("nothing to requeue: give job ids, or --all", "dlq", "requeue")]
    [InlineData("nothing to requeue: give job ids, or --all", "dlq", "requeue", "--queue", "default")]
    [InlineData("nothing to purge: give job ids, or --all or --older-than", "dlq", "purge")]
    [InlineData("nothing to purge: give job ids, or --all or --older-than", "dlq", "purge", "--tenant", "alice")]
    [InlineData("give job ids or a selection (--all, --older-than), not both", "dlq", "purge", SomeId, "--all")]
    [InlineData("give job ids or a selection (--all, --older-than), not both", "dlq", "purge", SomeId, "--older-than", "1d")]
    [InlineData("--queue, --tenant, --handler and --older-than select jobs instead of ids", "dlq", "requeue", SomeId, "--queue", "default")]
    [InlineData("--attempts 0 is out of range: use 1 to 100", "dlq", "requeue", SomeId, "--attempts", "0")]
    [InlineData("--attempts 101 is out of range: use 1 to 100", "dlq", "requeue", SomeId, "--attempts", "101")]
    [InlineData("'nope' is not a job id", "dlq", "requeue", SomeId, "nope")]
    [InlineData("'nope' is not a job id", "dlq", "show", "nope")]
    [InlineData("--older-than '7' is not a duration", "dlq", "purge", "--older-than", "7")]
    [InlineData("--limit 0 is out of range: use 1 to 10000", "dlq", "list", "--limit", "0")]
    [InlineData("--queue 'a b' is not a valid name", "dlq", "list", "--queue", "a b")]
    public async Task RunAsync_ReturnsUsageError_WhenADeadLetterCommandLineIsInvalid(string message, params string[] args)
    {
        var run = await RunAsync(args);

        AssertUsageError(run, message);
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageErrorNamingValue_WhenPriorityIsNotANumber()
    {
        var run = await RunAsync("submit", "--priority", "urgent", "--", "/bin/true");

        AssertUsageError(run, "'urgent'");
    }

    [Theory]
    [InlineData("NOEQUALS", "'NOEQUALS' is not KEY=VALUE")]
    [InlineData("=value", "'=value' is not KEY=VALUE")]
    [InlineData("MY VAR=1", "the name 'MY VAR' must not contain spaces")]
    public async Task RunAsync_ReturnsUsageErrorNamingPair_WhenEnvIsInvalid(string pair, string message)
    {
        var run = await RunAsync("submit", "--env", pair, "--", "/bin/true");

        AssertUsageError(run, message);
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageError_WhenEnvKeyIsRepeated()
    {
        var run = await RunAsync("submit", "--env", "A=1", "--env", "A=2", "--", "/bin/true");

        AssertUsageError(run, "A is given more than once");
    }

    [Theory]
    [InlineData("--timeout", "300")]
    [InlineData("--timeout", "5x")]
    [InlineData("--timeout", "0s")]
    [InlineData("--timeout", "-5m")]
    [InlineData("--connect-timeout", "soon")]
    public async Task RunAsync_ReturnsUsageErrorNamingDuration_WhenDurationIsInvalid(string option, string value)
    {
        var run = await RunAsync("submit", option, value, "--", "/bin/true");

        AssertUsageError(run, $"{option} '{value}'");
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageErrorNamingFile_WhenPayloadFileIsUnreadable()
    {
        var path = Path.Combine(Path.GetTempPath(), $"scheduler-missing-{Guid.NewGuid():N}.json");

        var run = await RunAsync("submit", "--handler", "report", "--payload-file", path);

        AssertUsageError(run, $"cannot read payload file '{path}'");
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageError_WhenPayloadIsNotJson()
    {
        var run = await RunAsync("submit", "--handler", "report", "--payload", "{not json");

        AssertUsageError(run, "--payload is not valid JSON");
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageErrorNamingFile_WhenPayloadFileIsNotJson()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "{\"a\": }");

            var run = await RunAsync("submit", "--handler", "report", "--payload-file", path);

            AssertUsageError(run, $"payload file '{path}' is not valid JSON");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("nothing to run", "submit")]
    [InlineData("not both", "submit", "--handler", "report", "--", "/bin/true")]
    [InlineData("need --handler", "submit", "--payload", "{}", "--", "/bin/true")]
    [InlineData("give --payload or --payload-file, not both", "submit", "--handler", "report", "--payload", "{}", "--payload-file", "x.json")]
    [InlineData("handler 'bad name!' is not a valid name", "submit", "--handler", "bad name!")]
    [InlineData("queue 'a/b' is not a valid name", "submit", "--queue", "a/b", "--", "/bin/true")]
    [InlineData("max attempts 0 is out of range", "submit", "--max-attempts", "0", "--", "/bin/true")]
    [InlineData("--wait-timeout needs --wait", "submit", "--wait-timeout", "5s", "--", "/bin/true")]
    [InlineData("--timeout needs --wait", "status", SomeId, "--timeout", "5s")]
    [InlineData("--state 'done' is not one of", "list", "--state", "done")]
    [InlineData("--limit 0 is out of range", "list", "--limit", "0")]
    [InlineData("--tenant 'x y' is not a valid name", "list", "--tenant", "x y")]
    [InlineData("--after -1 must be 0 or more", "logs", SomeId, "--after", "-1")]
    [InlineData("Required command was not provided")]
    [InlineData("Unrecognized command or argument '--bogus'", "list", "--bogus")]
    public async Task RunAsync_ReturnsUsageError_WhenCommandLineIsInconsistent(string message, params string[] args)
    {
        var run = await RunAsync(args);

        AssertUsageError(run, message);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:http")]
    public async Task RunAsync_ReturnsUsageErrorNamingGateway_WhenGatewayIsMalformed(string gateway)
    {
        var run = await CliRun.RunAsync(["list", "--gateway", gateway], _ => null);

        AssertUsageError(run, $"gateway '{gateway}' (from --gateway)");
    }

    [Fact]
    public async Task RunAsync_ReturnsUsageErrorNamingVariable_WhenGatewayVariableIsMalformed()
    {
        var run = await CliRun.RunAsync(["list"], name => name == "SCHEDULER_GATEWAY" ? "127.0.0.1:1,nonsense" : null);

        AssertUsageError(run, "gateway 'nonsense' (from SCHEDULER_GATEWAY)");
    }

    [Fact]
    public async Task RunAsync_ReturnsUnavailableNamingAddressWithinConnectTimeout_WhenGatewayIsUnreachable()
    {
        var gateway = $"127.0.0.1:{FreeLoopbackPort()}";
        var stopwatch = Stopwatch.StartNew();

        var run = await CliRun.RunAsync(["status", SomeId, "--gateway", gateway, "--connect-timeout", "2s"], _ => null);

        Assert.Equal(ExitCodes.Unavailable, run.ExitCode);
        Assert.Contains($"cannot reach the scheduler at {gateway}", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(8), $"took {stopwatch.Elapsed}");
    }

    [Theory]
    [InlineData("submit", "--", "/bin/sh", "-c", "echo hi; exit 3")]
    [InlineData("submit", "--priority", "100", "--queue", "reports", "--tenant", "team-a", "--max-attempts", "5", "--timeout", "300s",
        "--idempotency-key", "nightly-2026-11-23", "--env", "A=1", "--env", "B=x=y", "--cwd", "/tmp", "--fatal-exit-code", "2",
        "--fatal-exit-code", "64", "--wait", "--wait-timeout", "10m", "--", "/usr/bin/env", "--help")]
    [InlineData("submit", "--timeout", "00:05:00", "--", "/bin/true")]
    [InlineData("submit", "--timeout", "1.5h", "/bin/true")]
    [InlineData("submit", "--handler", "report", "--payload", "{\"month\": \"2026-11\"}")]
    [InlineData("submit", "--handler", "noop")]
    [InlineData("status", SomeId, "--wait", "--timeout", "30s")]
    [InlineData("list", "--state", "running", "--queue", "default", "--tenant", "team-a", "--handler", "command", "--limit", "10")]
    [InlineData("cancel", SomeId, "--reason", "no longer needed")]
    [InlineData("logs", SomeId, "--after", "42", "--json")]
    public async Task RunAsync_GetsPastValidation_WhenCommandLineIsWellFormed(params string[] args)
    {
        var run = await RunAsync(args);

        Assert.True(run.ExitCode == ExitCodes.Unavailable, $"exit code {run.ExitCode}, stderr: {run.Stderr}");
    }

    [Fact]
    public async Task RunAsync_UsesGatewayVariable_WhenNoGatewayOptionIsGiven()
    {
        var gateway = $"127.0.0.1:{FreeLoopbackPort()}";

        var run = await CliRun.RunAsync(["list", "--connect-timeout", "1s"], name => name == "SCHEDULER_GATEWAY" ? gateway : null);

        Assert.Equal(ExitCodes.Unavailable, run.ExitCode);
        Assert.Contains(gateway, run.Stderr);
    }

    [Fact]
    public async Task RunAsync_PrintsUsageOfEveryCommand_WhenHelpIsAsked()
    {
        var run = await RunAsync("--help");

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        foreach (var command in new[] { "submit", "status", "list", "cancel", "logs" })
            Assert.Contains(command, run.Stdout);
        Assert.Contains("--gateway", run.Stdout);
    }

    [Fact]
    public async Task CancelHelp_SaysARunningJobIsAskedToStop()
    {
        var run = await RunAsync("cancel", "--help");

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        var help = System.Text.RegularExpressions.Regex.Replace(run.Stdout, @"\s+", " ");
        Assert.Contains("A queued job (also one waiting for a retry) is cancelled at once. A running job is asked to stop", help);
        Assert.Contains("the job ends Cancelled unless the attempt succeeds first", help);
    }

    /// <summary>Runs the CLI against a closed loopback port, so a command that got past validation fails with 3.</summary>
    private static Task<CliRun> RunAsync(params string[] args) =>
        CliRun.RunAsync([.. args, "--gateway", $"127.0.0.1:{FreeLoopbackPort()}", "--connect-timeout", "1s"], _ => null);

    private static void AssertUsageError(CliRun run, string message)
    {
        Assert.True(run.ExitCode == ExitCodes.Usage, $"exit code {run.ExitCode}, stderr: {run.Stderr}");
        Assert.Contains(message, run.Stderr);
        Assert.Empty(run.Stdout);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static async Task<CliRun> RunAsync(string[] args, Func<string, string?> environment)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var cts = new CancellationTokenSource(Bound);
        var exitCode = await CliApp.RunAsync(args, stdout, stderr, environment, cts.Token).WaitAsync(Bound);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }
}
