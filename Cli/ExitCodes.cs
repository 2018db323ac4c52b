namespace Scheduler.Cli;

/// <summary>The CLI's process exit codes. Stable: scripts depend on them.</summary>
public static class ExitCodes
{
    /// <summary>Done (and, with --wait, the job succeeded).</summary>
    public const int Ok = 0;

    /// <summary>The scheduler refused the request, the job does not exist, or (with --wait) the job did not succeed.</summary>
    public const int Failed = 1;

    /// <summary>Bad command line: nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>The scheduler could not be reached.</summary>
    public const int Unavailable = 3;

    /// <summary>The scheduler refused a submit because a bounded backlog is full: nothing was submitted; try again later.</summary>
    public const int Overloaded = 4;

    /// <summary>Interrupted (Ctrl+C) before the command finished.</summary>
    public const int Interrupted = 130;
}

/// <summary>A command line that cannot be run; reported with exit code <see cref="ExitCodes.Usage"/> before anything is sent.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A command that ran but whose outcome is a failure (exit code <see cref="ExitCodes.Failed"/>), already explained by the message.</summary>
internal sealed class CommandFailedException(string message) : Exception(message);
