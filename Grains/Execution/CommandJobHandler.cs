using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Scheduler.Execution;

/// <summary>
/// The built-in "command" handler: runs the executable a <see cref="CommandJob"/> names, directly (no shell),
/// and writes its stdout and stderr to the job's log line by line as they arrive.
/// </summary>
/// <remarks>
/// <para>
/// Security: the process runs as the silo's operating-system user. Whoever can submit a command job can run any
/// program that user can, unless <see cref="CommandHandlerOptions.AllowedExecutables"/> restricts it.
/// </para>
/// <para>
/// Outcomes: exit code 0 is success. Any other code is retriable, unless it is listed in
/// <see cref="CommandJob.FatalExitCodes"/>, or <see cref="CommandJob.NonZeroExitIsFatal"/> is set and the code is not
/// listed in <see cref="CommandJob.RetriableExitCodes"/>; then it is fatal. A payload that cannot run at all
/// (executable missing or not allowed, working directory missing) is fatal. On cancellation the command's process
/// group and process tree are killed and the <see cref="OperationCanceledException"/> propagates.
/// </para>
/// <para>
/// On Linux and other Unix systems with util-linux' <c>setsid</c>, each command runs in a process group of its own
/// under a small <c>/bin/sh</c> supervisor (see <see cref="CommandSupervisor"/>) that kills the whole group when the
/// silo goes away, even by <c>kill -9</c>: a command never outlives the attempt that its silo can no longer report
/// on, so it cannot run at the same time as the job's next attempt elsewhere.
/// </para>
/// <para>
/// The command's environment is the silo's, plus the job's <see cref="CommandJob.Environment"/>, plus
/// <c>SCHEDULER_JOB_ID</c>, <c>SCHEDULER_ATTEMPT</c> and <c>SCHEDULER_MAX_ATTEMPTS</c> (set last, so they are always
/// the attempt's own).
/// </para>
/// </remarks>
public sealed class CommandJobHandler : IJobHandler
{
    private readonly CommandHandlerOptions _options;
    private readonly TimeProvider _time;

    public CommandJobHandler(IOptions<CommandHandlerOptions> options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var problems = _options.Validate().ToList();
        if (problems.Count > 0)
            throw new OptionsValidationException(nameof(CommandHandlerOptions), typeof(CommandHandlerOptions), problems);
        _time = timeProvider ?? TimeProvider.System;
    }

    public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();

        CommandJob command;
        try
        {
            command = context.ReadPayload<CommandJob>();
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            return JobResult.Fatal($"payload is not a valid command job: {e.Message}");
        }

        var (startInfo, problem) = Prepare(command, context);
        if (startInfo is null)
            return JobResult.Fatal(problem!);

        var supervised = CommandSupervisor.TryWrap(startInfo);
        using var process = new Process { StartInfo = supervised ?? startInfo };
        var started = _time.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return JobResult.Fatal($"cannot start '{command.Executable}': {e.Message}");
        }

        try
        {
            return await SuperviseAsync(process, supervised is not null, command, startInfo, context.Log, started, cancellationToken);
        }
        finally
        {
            // Whatever went wrong above (a throwing log, say), never leave the process group or tree running.
            if (!HasExited(process))
            {
                CloseInput(process);
                TryKill(process, context.Log);
            }
        }
    }

    private async Task<JobResult> SuperviseAsync(Process process, bool supervised, CommandJob command, ProcessStartInfo startInfo,
        IJobLog log, long started, CancellationToken cancellationToken)
    {
        // Supervised, the pipe on the supervisor's stdin stays open as long as this attempt runs here: its end-of-file
        // (closed below, or by the kernel when the silo dies) kills the command's process group. The command itself
        // reads /dev/null. Unsupervised, nothing is sent to the child's stdin: close it so a program reading it sees
        // end-of-file instead of waiting.
        if (!supervised)
            process.StandardInput.Close();
        var pid = process.Id;
        log.Write(LogStream.System, $"started process {pid}: {FormatCommandLine(startInfo)}" +
            (command.WorkingDirectory is { Length: > 0 } cwd ? $" (in {cwd})" : "") +
            (supervised ? $" (process group {pid}, killed if the silo dies)" : " (not supervised: setsid or /bin/sh is missing, so it would outlive a crashed silo)"));

        var output = new BoundedOutput(log, _options.MaxLogLinesPerAttempt);
        using var readers = new CancellationTokenSource();
        var stdout = PumpAsync(process.StandardOutput, LogStream.StdOut, output, _options.MaxLineLength, readers.Token);
        var stderr = PumpAsync(process.StandardError, LogStream.StdErr, output, _options.MaxLineLength, readers.Token);

        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await KillAsync(process, supervised, log);
            await DrainAsync(stdout, stderr, readers, log);
            output.WriteSummary();
            log.Write(LogStream.System,
                $"process {pid} and its children were killed after {Elapsed(started)} because the attempt was cancelled (timeout, cancel or shutdown)");
            throw;
        }

        await DrainAsync(stdout, stderr, readers, log);
        output.WriteSummary();
        var exitCode = process.ExitCode;
        log.Write(LogStream.System, $"process {pid} exited with code {exitCode} after {Elapsed(started)}");
        return Classify(command, exitCode, output.LastStdErr);
    }

    /// <summary>Checks the command and builds what to start, or says why it cannot run.</summary>
    private (ProcessStartInfo? StartInfo, string? Problem) Prepare(CommandJob command, JobContext context)
    {
        if (string.IsNullOrWhiteSpace(command.Executable))
            return Reject("the command job names no executable");

        var workingDirectory = string.IsNullOrEmpty(command.WorkingDirectory) ? null : command.WorkingDirectory;
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
            return Reject($"working directory '{workingDirectory}' does not exist on silo {Environment.MachineName}");

        if (!IsAllowed(command.Executable))
            return Reject($"executable '{command.Executable}' is not allowed on this silo; allowed: {string.Join(", ", _options.AllowedExecutables)}");

        if (Resolve(command.Executable, workingDirectory) is not { } path)
        {
            return Reject(IsBareName(command.Executable)
                ? $"executable '{command.Executable}' was not found on the silo's PATH"
                : $"executable '{command.Executable}' does not exist or is not executable");
        }

        var startInfo = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in command.Arguments ?? [])
        {
            if (argument is null)
                return Reject("the command's arguments must not contain null");
            startInfo.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in command.Environment ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrEmpty(name) || name.Contains('=') || name.Contains('\0'))
                return Reject($"environment variable name '{name}' is not valid");
            startInfo.Environment[name] = value ?? "";
        }
        startInfo.Environment[JobIdVariable] = context.Id.ToString();
        startInfo.Environment[AttemptVariable] = context.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
        startInfo.Environment[MaxAttemptsVariable] = context.MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (startInfo, null);
    }

    private static (ProcessStartInfo?, string?) Reject(string reason) => (null, reason);

    private bool IsAllowed(string executable)
    {
        var allowed = _options.AllowedExecutables;
        if (allowed.Count == 0)
            return true;
        if (IsBareName(executable))
            return allowed.Contains(executable, PathComparer);
        // A path matches only an absolute entry, and only when the job gives it absolute too.
        return Path.IsPathFullyQualified(executable) && allowed.Contains(Path.GetFullPath(executable), PathComparer);
    }

    private static bool IsBareName(string executable) => executable.IndexOfAny(CommandHandlerOptions.Separators) < 0;

    private static StringComparer PathComparer => OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>
    /// The file to start: a bare name is looked up on the silo's PATH only (not the silo's current directory);
    /// a relative path is taken relative to the job's working directory, as a shell would.
    /// </summary>
    private static string? Resolve(string executable, string? workingDirectory)
    {
        if (!IsBareName(executable))
        {
            var full = Path.GetFullPath(executable, workingDirectory is null ? Environment.CurrentDirectory : Path.GetFullPath(workingDirectory));
            return IsExecutableFile(full) ? full : null;
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var extensions = OperatingSystem.IsWindows()
            ? ["", .. (Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE;.CMD;.BAT").Split(';', StringSplitOptions.RemoveEmptyEntries)]
            : new[] { "" };
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Combine(directory, executable + extension);
                if (Path.IsPathFullyQualified(candidate) && IsExecutableFile(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
            return false;
        if (OperatingSystem.IsWindows())
            return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }

    private static JobResult Classify(CommandJob command, int exitCode, string? lastStdErr)
    {
        if (exitCode == 0)
            return JobResult.Success();
        var fatal = (command.FatalExitCodes ?? []).Contains(exitCode)
            || (command.NonZeroExitIsFatal && !(command.RetriableExitCodes ?? []).Contains(exitCode));
        var reason = $"'{command.Executable}' exited with code {exitCode}" + (lastStdErr is { Length: > 0 } line ? $": {line}" : "");
        return fatal ? JobResult.Fatal(reason) : JobResult.Retry(reason);
    }

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static void TryKill(Process process, IJobLog log)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException or AggregateException)
        {
            // Already exited, or a child could not be signalled.
            log.Write(LogStream.System, $"killing process {process.Id}: {e.Message}");
        }
    }

    /// <summary>
    /// Supervised: closes the supervisor's stdin, so that it kills the whole process group (also the command's
    /// descendants that its parent left behind), and waits briefly. Then, or unsupervised at once, kills the process
    /// tree (also descendants that moved to a group of their own).
    /// </summary>
    private async Task KillAsync(Process process, bool supervised, IJobLog log)
    {
        if (supervised)
        {
            CloseInput(process);
            if (await WaitForExitAsync(process, GroupKillWait))
                return;
        }
        TryKill(process, log);
        if (!await WaitForExitAsync(process, _options.KillTimeout))
            log.Write(LogStream.System, $"process {process.Id} did not exit within {_options.KillTimeout.TotalSeconds:0.#} s of being killed");
    }

    private async Task<bool> WaitForExitAsync(Process process, TimeSpan timeout)
    {
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(timeout, _time);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static void CloseInput(Process process)
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Not redirected, or already closed.
        }
    }

    /// <summary>How long a supervisor has to kill its process group after its stdin closed, before the tree is killed.</summary>
    private static readonly TimeSpan GroupKillWait = TimeSpan.FromSeconds(2);

    /// <summary>The job's id, in the command's environment.</summary>
    public const string JobIdVariable = "SCHEDULER_JOB_ID";

    /// <summary>The attempt's number (1 for the first run; the fencing token), in the command's environment.</summary>
    public const string AttemptVariable = "SCHEDULER_ATTEMPT";

    /// <summary>The job's most attempts, in the command's environment.</summary>
    public const string MaxAttemptsVariable = "SCHEDULER_MAX_ATTEMPTS";

    /// <summary>Lets the readers reach end-of-file, for at most the drain timeout (a background child may hold the pipes).</summary>
    private async Task DrainAsync(Task stdout, Task stderr, CancellationTokenSource readers, IJobLog log)
    {
        try
        {
            await Task.WhenAll(stdout, stderr).WaitAsync(_options.OutputDrainTimeout, _time);
        }
        catch (TimeoutException)
        {
            await readers.CancelAsync();
            log.Write(LogStream.System,
                $"output was still open {_options.OutputDrainTimeout.TotalSeconds:0.#} s after the process exited " +
                "(a background process it started holds it); stopped reading");
        }
    }

    /// <summary>Reads a stream to its end, splitting lines itself so that one endless line cannot use unbounded memory.</summary>
    private static async Task PumpAsync(StreamReader reader, LogStream stream, BoundedOutput output, int maxLineLength, CancellationToken cancellationToken)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        long dropped = 0;
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
            {
                var chunk = buffer.AsSpan(0, read);
                while (chunk.Length > 0)
                {
                    var newline = chunk.IndexOf('\n');
                    var part = newline < 0 ? chunk : chunk[..newline];
                    var room = maxLineLength - line.Length;
                    if (part.Length <= room)
                        line.Append(part);
                    else
                    {
                        line.Append(part[..room]);
                        dropped += part.Length - room;
                    }
                    if (newline < 0)
                        break;
                    Emit();
                    chunk = chunk[(newline + 1)..];
                }
            }
            if (line.Length > 0 || dropped > 0)
                Emit();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Stopped reading (drain timeout) or the pipe went away: keep what was read.
            if (line.Length > 0)
                Emit();
        }

        void Emit()
        {
            if (dropped == 0 && line.Length > 0 && line[^1] == '\r')
                line.Length--;
            var text = dropped > 0 ? $"{line} …[line truncated: {dropped} more characters]" : line.ToString();
            output.Write(stream, text);
            line.Clear();
            dropped = 0;
        }
    }

    private string Elapsed(long started)
    {
        var elapsed = _time.GetElapsedTime(started);
        return elapsed < TimeSpan.FromSeconds(1) ? $"{elapsed.TotalMilliseconds:0} ms" : $"{elapsed.TotalSeconds:0.###} s";
    }

    private static string FormatCommandLine(ProcessStartInfo startInfo) =>
        string.Join(' ', new[] { startInfo.FileName }.Concat(startInfo.ArgumentList).Select(Quote));

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''") + "'";

    /// <summary>Stores at most a fixed number of output lines per attempt and counts the rest.</summary>
    private sealed class BoundedOutput(IJobLog log, int maxLines)
    {
        private readonly Lock _lock = new();
        private int _written;
        private long _dropped;
        private bool _summarized;

        /// <summary>The last line written to stderr (stored or not), cut to 200 characters, for the failure reason.</summary>
        public string? LastStdErr { get; private set; }

        public void Write(LogStream stream, string text)
        {
            lock (_lock)
            {
                if (stream == LogStream.StdErr && !string.IsNullOrWhiteSpace(text))
                    LastStdErr = text.Length <= 200 ? text : text[..200] + "…";
                if (_written < maxLines)
                {
                    _written++;
                    log.Write(stream, text);
                }
                else
                    _dropped++;
            }
        }

        public void WriteSummary()
        {
            lock (_lock)
            {
                if (_dropped == 0 || _summarized)
                    return;
                _summarized = true;
                log.Write(LogStream.System, $"output truncated: {_dropped} more lines were dropped after the first {maxLines} (limit MaxLogLinesPerAttempt)");
            }
        }
    }
}
