using System.Diagnostics;

namespace Scheduler.Execution;

/// <summary>
/// Makes a command die with its silo. The silo starts <c>setsid -w /bin/sh -c SCRIPT</c>, so the shell leads a new
/// process group (and session); the shell starts the command in that group and a watcher that blocks reading the
/// shell's stdin, a pipe whose only write end the silo holds. When that pipe reaches end-of-file (the silo closed it
/// to cancel the attempt, or the kernel closed it because the silo died, also by <c>kill -9</c>), the watcher kills
/// the whole group with SIGKILL: the command, its children, and grandchildren whose parent already exited.
/// </summary>
/// <remarks>
/// <para>
/// When the command exits by itself, the shell stops the watcher and exits with the command's exit code, so
/// background processes the command left behind run on as before (the handler stops reading their output after
/// <see cref="CommandHandlerOptions.OutputDrainTimeout"/>). A process that leaves the group on purpose (its own
/// <c>setsid</c>) is not covered when the silo dies.
/// </para>
/// <para>
/// Why not <c>prctl(PR_SET_PDEATHSIG)</c> (<c>setpriv --pdeathsig</c>): it fires when the parent <em>thread</em> exits,
/// and .NET starts processes from thread-pool threads that come and go, which would kill healthy commands. A pipe's
/// end-of-file depends only on the silo process.
/// </para>
/// <para>
/// Only <c>/bin/sh</c> builtins run in the script (read, kill, wait), so a job's PATH does not matter. The silo's
/// pipe ends are close-on-exec (.NET creates them so), so no other command inherits this pipe's write end and keeps
/// it open.
/// </para>
/// </remarks>
public static class CommandSupervisor
{
    /// <summary>
    /// The supervisor. Arguments: the command's file and arguments. fd 3 keeps the silo's pipe for the watcher only;
    /// the command reads /dev/null. A watcher killed by the supervisor (the command has exited) never reaches its kill.
    /// </summary>
    public const string Script =
        "exec 3<&0 0</dev/null\n" +
        "{ while read -r _ <&3; do :; done; kill -KILL 0; } >/dev/null 2>&1 &\n" +
        "watcher=$!\n" +
        "exec 3<&-\n" +
        "\"$@\" &\n" +
        "command=$!\n" +
        "wait \"$command\"\n" +
        "status=$?\n" +
        "kill \"$watcher\" 2>/dev/null\n" +
        "wait \"$watcher\" 2>/dev/null\n" +
        "exit \"$status\"\n";

    /// <summary>The name the supervisor shell reports as its $0 (what <c>ps</c> shows after the script).</summary>
    public const string Name = "scheduler-supervisor";

    private static readonly Lazy<string?> SetsidPath = new(FindSetsid);

    /// <summary>True where commands can run supervised: Unix with <c>/bin/sh</c> and util-linux' <c>setsid</c>.</summary>
    public static bool IsAvailable => SetsidPath.Value is not null;

    /// <summary>
    /// What to start instead of <paramref name="command"/> so that it runs supervised (same file, arguments,
    /// environment, working directory and output pipes), or null where supervision is not available.
    /// </summary>
    public static ProcessStartInfo? TryWrap(ProcessStartInfo command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (SetsidPath.Value is not { } setsid)
            return null;
        var wrapped = new ProcessStartInfo(setsid)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = command.RedirectStandardOutput,
            RedirectStandardError = command.RedirectStandardError,
            StandardOutputEncoding = command.StandardOutputEncoding,
            StandardErrorEncoding = command.StandardErrorEncoding,
            WorkingDirectory = command.WorkingDirectory,
        };
        // -w: should setsid ever have to fork (it does when it already leads a group), it still waits and passes the
        // exit code on, instead of returning at once.
        foreach (var argument in (string[])["-w", "/bin/sh", "-c", Script, Name, command.FileName, .. command.ArgumentList])
            wrapped.ArgumentList.Add(argument);
        wrapped.Environment.Clear();
        foreach (var (name, value) in command.Environment)
            wrapped.Environment[name] = value;
        return wrapped;
    }

    private static string? FindSetsid()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/sh"))
            return null;
        foreach (var candidate in (string[])["/usr/bin/setsid", "/bin/setsid"])
        {
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
