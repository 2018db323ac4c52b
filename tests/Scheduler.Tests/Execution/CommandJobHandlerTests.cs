using System.Text.Json;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Xunit;

namespace Scheduler.Tests.Execution;

/// <summary>Runs real processes through /bin/sh, so these tests need a Unix-like system.</summary>
public sealed class CommandJobHandlerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [UnixFact]
    public async Task ExecuteAsync_SucceedsWithStdoutInOrder_WhenExitCodeIsZero()
    {
        var log = new CollectingLog();

        var result = await RunAsync(Shell("for i in 1 2 3 4 5; do echo line $i; done"), log);

        Assert.Equal(JobOutcome.Success, result.Outcome);
        Assert.Equal(["line 1", "line 2", "line 3", "line 4", "line 5"], log.Lines(LogStream.StdOut));
        var system = log.Lines(LogStream.System);
        Assert.Contains(system, l => l.StartsWith("started process ", StringComparison.Ordinal) && l.Contains("/bin/sh -c"));
        Assert.Contains(system, l => l.Contains("exited with code 0 after"));
    }

    [UnixFact]
    public async Task ExecuteAsync_CapturesStderr_WhenProcessWritesToIt()
    {
        var log = new CollectingLog();

        var result = await RunAsync(Shell("echo oops >&2; echo fine"), log);

        Assert.Equal(JobOutcome.Success, result.Outcome);
        Assert.Equal(["oops"], log.Lines(LogStream.StdErr));
        Assert.Equal(["fine"], log.Lines(LogStream.StdOut));
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsRetriableNamingExitCode_WhenExitCodeIsNonZero()
    {
        var result = await RunAsync(Shell("echo 'disk full' >&2; exit 3"), new CollectingLog());

        Assert.Equal(JobOutcome.Retriable, result.Outcome);
        Assert.Contains("exited with code 3", result.Reason);
        Assert.Contains("disk full", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsFatal_WhenExitCodeIsListedAsFatal()
    {
        var command = Shell("exit 4") with { FatalExitCodes = [4, 5] };

        var result = await RunAsync(command, new CollectingLog());

        Assert.Equal(JobOutcome.Fatal, result.Outcome);
        Assert.Contains("code 4", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsFatal_WhenNonZeroExitIsFatal()
    {
        var result = await RunAsync(Shell("exit 1") with { NonZeroExitIsFatal = true }, new CollectingLog());

        Assert.Equal(JobOutcome.Fatal, result.Outcome);
        Assert.Contains("code 1", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsRetriable_WhenNonZeroExitIsFatalButCodeIsListedAsRetriable()
    {
        var result = await RunAsync(Shell("exit 75") with { NonZeroExitIsFatal = true, RetriableExitCodes = [75] }, new CollectingLog());

        Assert.Equal(JobOutcome.Retriable, result.Outcome);
        Assert.Contains("code 75", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsFatal_WhenExecutableDoesNotExist()
    {
        var log = new CollectingLog();

        var result = await RunAsync(new CommandJob { Executable = "/no/such/program-4711" }, log);
        var onPath = await RunAsync(new CommandJob { Executable = "no-such-program-4711" }, log);

        Assert.Equal(JobOutcome.Fatal, result.Outcome);
        Assert.Contains("'/no/such/program-4711' does not exist", result.Reason);
        Assert.Equal(JobOutcome.Fatal, onPath.Outcome);
        Assert.Contains("'no-such-program-4711' was not found on the silo's PATH", onPath.Reason);
        Assert.Empty(log.All);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsFatal_WhenWorkingDirectoryDoesNotExist()
    {
        var result = await RunAsync(Shell("pwd") with { WorkingDirectory = "/no/such/dir-4711" }, new CollectingLog());

        Assert.Equal(JobOutcome.Fatal, result.Outcome);
        Assert.Contains("working directory '/no/such/dir-4711' does not exist", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_PassesEnvironmentAndWorkingDirectory_WhenGiven()
    {
        var directory = Directory.CreateTempSubdirectory("scheduler-cmd-");
        try
        {
            var log = new CollectingLog();
            var command = new CommandJob
            {
                Executable = "sh",
                Arguments = ["-c", "pwd; echo \"$GREETING\"; echo \"$1\"; test -n \"$PATH\" && echo inherited", "sh", "two words; $not expanded"],
                Environment = new Dictionary<string, string> { ["GREETING"] = "hello there" },
                WorkingDirectory = directory.FullName,
            };

            var result = await RunAsync(command, log);

            Assert.Equal(JobOutcome.Success, result.Outcome);
            Assert.Equal([Path.GetFullPath(directory.FullName), "hello there", "two words; $not expanded", "inherited"], log.Lines(LogStream.StdOut));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [UnixFact]
    public async Task ExecuteAsync_KillsChildAndGrandchild_WhenCancelled()
    {
        var log = new CollectingLog();
        using var cts = new CancellationTokenSource();
        var grandchildLine = log.WaitForAsync(LogStream.StdOut, l => l.StartsWith("grandchild ", StringComparison.Ordinal));

        var run = RunAsync(Shell("sleep 30 & echo grandchild $!; wait"), log, cancellationToken: cts.Token);
        var line = await grandchildLine.WaitAsync(Bound);
        var grandchild = int.Parse(line["grandchild ".Length..]);
        var child = int.Parse(log.Lines(LogStream.System)[0].Split(' ')[2].TrimEnd(':'));
        Assert.True(IsAlive(child) && IsAlive(grandchild));
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Bound));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {stopwatch.Elapsed}");
        Assert.False(IsAlive(child), $"child {child} is still alive");
        Assert.True(await EventuallyAsync(() => !IsAlive(grandchild)), $"grandchild {grandchild} is still alive");
        Assert.Contains(log.Lines(LogStream.System), l => l.Contains("killed"));
    }

    [UnixFact]
    public async Task ExecuteAsync_StoresCappedLinesAndSaysHowManyWereDropped_WhenOutputExceedsLimit()
    {
        var log = new CollectingLog();
        var options = new CommandHandlerOptions { MaxLogLinesPerAttempt = 100, MaxLineLength = 20 };

        // 5,000 lines (more than a pipe buffer holds, so a handler that stopped reading would hang the child), then one long line.
        var result = await RunAsync(Shell("i=0; while [ $i -lt 5000 ]; do echo out $i; i=$((i+1)); done; echo done >&2"), log, options);
        var longLine = await RunAsync(Shell("printf '%0100d\\n' 7"), log, options);

        Assert.Equal(JobOutcome.Success, result.Outcome);
        var lines = log.All.Where(l => l.Stream != LogStream.System).ToList();
        Assert.Equal(100 + 1, lines.Count); // 100 from the first run, 1 from the second
        Assert.Equal("out 0", lines[0].Text);
        Assert.Contains(log.Lines(LogStream.System), l => l.Contains("output truncated: 4901 more lines were dropped after the first 100"));
        Assert.Equal(JobOutcome.Success, longLine.Outcome);
        Assert.Equal(new string('0', 20) + " …[line truncated: 80 more characters]", lines[^1].Text);
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsExitCodeAfterDrainTimeout_WhenBackgroundProcessHoldsOutputOpen()
    {
        var log = new CollectingLog();
        var options = new CommandHandlerOptions { OutputDrainTimeout = TimeSpan.FromMilliseconds(300) };
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var result = await RunAsync(Shell("sleep 30 & echo background $!; exit 0"), log, options);

        var background = int.Parse(log.Lines(LogStream.StdOut).Single()["background ".Length..]);
        try
        {
            Assert.Equal(JobOutcome.Success, result.Outcome);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
            Assert.Contains(log.Lines(LogStream.System), l => l.Contains("stopped reading"));
        }
        finally
        {
            if (IsAlive(background))
                System.Diagnostics.Process.GetProcessById(background).Kill();
        }
    }

    [UnixFact]
    public async Task ExecuteAsync_ReturnsFatal_WhenExecutableIsNotAllowed()
    {
        var options = new CommandHandlerOptions { AllowedExecutables = ["echo", "/usr/bin/env"] };

        var refused = await RunAsync(Shell("true"), new CollectingLog(), options);
        var byName = await RunAsync(new CommandJob { Executable = "echo", Arguments = ["hi"] }, new CollectingLog(), options);

        Assert.Equal(JobOutcome.Fatal, refused.Outcome);
        Assert.Contains("'/bin/sh' is not allowed", refused.Reason);
        Assert.Equal(JobOutcome.Success, byName.Outcome);
    }

    [Fact]
    public async Task ExecuteAsync_ReturnsFatal_WhenPayloadIsNotACommandJob()
    {
        var context = Context(JsonSerializer.SerializeToUtf8Bytes(new { arguments = 5 }), new CollectingLog());

        var result = await new CommandJobHandler(Options.Create(new CommandHandlerOptions())).ExecuteAsync(context, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(JobOutcome.Fatal, result.Outcome);
        Assert.Contains("not a valid command job", result.Reason);
    }

    [UnixFact]
    public async Task ExecuteAsync_GivesTheCommandItsJobIdAndAttempt_InTheEnvironment()
    {
        var log = new CollectingLog();
        var command = Shell("echo \"$SCHEDULER_JOB_ID $SCHEDULER_ATTEMPT $SCHEDULER_MAX_ATTEMPTS\"") with
        {
            Environment = new Dictionary<string, string> { ["SCHEDULER_ATTEMPT"] = "spoofed" },
        };
        var context = Context(JsonSerializer.SerializeToUtf8Bytes(command, PayloadJson.Options), log, attempt: 2, maxAttempts: 5);

        var result = await new CommandJobHandler(Options.Create(new CommandHandlerOptions())).ExecuteAsync(context, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(JobOutcome.Success, result.Outcome);
        Assert.Equal([$"{context.Id} 2 5"], log.Lines(LogStream.StdOut));
    }

    [UnixFact]
    public async Task ExecuteAsync_KillsAnOrphanedGrandchild_WhenCancelled()
    {
        Assert.True(CommandSupervisor.IsAvailable, "this machine should have /bin/sh and setsid");
        var log = new CollectingLog();
        using var cts = new CancellationTokenSource();
        var orphanLine = log.WaitForAsync(LogStream.StdOut, l => l.StartsWith("orphan ", StringComparison.Ordinal));

        // The subshell exits at once, so the sleep it started has no parent in the command's process tree any more.
        var run = RunAsync(Shell("(sleep 30 & echo orphan $!); sleep 30"), log, cancellationToken: cts.Token);
        var orphan = int.Parse((await orphanLine.WaitAsync(Bound))["orphan ".Length..]);
        Assert.True(IsAlive(orphan));
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Bound));
        Assert.True(await EventuallyAsync(() => !IsAlive(orphan)), $"orphaned grandchild {orphan} is still alive");
    }

    [UnixFact]
    public async Task ExecuteAsync_RunsTheCommandInAProcessGroupOfItsOwn_AndLeavesNothingBehind()
    {
        var log = new CollectingLog();

        var result = await RunAsync(Shell("cut -d' ' -f5 /proc/$$/stat; cut -d' ' -f5 /proc/$PPID/stat; cat"), log);

        Assert.Equal(JobOutcome.Success, result.Outcome);
        var group = int.Parse(log.Lines(LogStream.System)[0].Split(' ')[2].TrimEnd(':'));
        var ownGroups = log.Lines(LogStream.StdOut).Select(l => int.Parse(l.Trim())).ToList();
        Assert.Equal([group, group], ownGroups); // the command and its supervisor (reading stdin gave end-of-file at once)
        Assert.NotEqual(Environment.ProcessId, group);
        Assert.True(await EventuallyAsync(() => ProcessesInGroup(group).Count == 0),
            $"processes left in group {group}: {string.Join(", ", ProcessesInGroup(group))}");
    }

    private static CommandJob Shell(string script) => new() { Executable = "/bin/sh", Arguments = ["-c", script] };

    private static Task<JobResult> RunAsync(CommandJob command, CollectingLog log, CommandHandlerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var handler = new CommandJobHandler(Options.Create(options ?? new CommandHandlerOptions()));
        var context = Context(JsonSerializer.SerializeToUtf8Bytes(command, PayloadJson.Options), log);
        return handler.ExecuteAsync(context, cancellationToken).WaitAsync(Bound);
    }

    private static JobContext Context(byte[] payload, IJobLog log, int attempt = 1, int maxAttempts = 3) => new()
    {
        Id = JobId.New(),
        Attempt = attempt,
        MaxAttempts = maxAttempts,
        Handler = CommandJob.HandlerName,
        Queue = JobRequest.DefaultQueue,
        Tenant = JobRequest.DefaultTenant,
        Payload = payload,
        Log = log,
    };

    /// <summary>True while the process exists and is not a zombie (a killed orphan may wait for a reaper that never comes).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    /// <summary>Live processes (not zombies) whose process group is <paramref name="group"/>.</summary>
    private static List<int> ProcessesInGroup(int group)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] is not ("Z" or "X") && int.Parse(fields[2]) == group)
                    found.Add(pid);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
            {
            }
        }
        return found;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(50);
        }
        return true;
    }
}

/// <summary>An <see cref="IJobLog"/> that keeps what is written, for assertions.</summary>
internal sealed class CollectingLog : IJobLog
{
    private readonly Lock _lock = new();
    private readonly List<(LogStream Stream, string Text)> _lines = [];
    private readonly List<(LogStream Stream, Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    public IReadOnlyList<(LogStream Stream, string Text)> All
    {
        get { lock (_lock) return [.. _lines]; }
    }

    public IReadOnlyList<string> Lines(LogStream stream) => [.. All.Where(l => l.Stream == stream).Select(l => l.Text)];

    public void Write(LogStream stream, string text)
    {
        lock (_lock)
        {
            _lines.Add((stream, text));
            foreach (var waiter in _waiters.Where(w => w.Stream == stream && w.Match(text)).ToList())
            {
                waiter.Done.TrySetResult(text);
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Completes with the first line (written from now on) of <paramref name="stream"/> that matches.</summary>
    public Task<string> WaitForAsync(LogStream stream, Func<string, bool> match)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
            _waiters.Add((stream, match, done));
        return done.Task;
    }
}

/// <summary>A fact that is skipped on Windows (the tests drive /bin/sh and read /proc).</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
            Skip = "needs /bin/sh";
    }
}
