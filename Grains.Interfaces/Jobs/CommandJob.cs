namespace Scheduler;

/// <summary>
/// Payload of the built-in "command" handler: runs an executable. Exit code 0 is success; other codes are
/// retriable unless listed in <see cref="FatalExitCodes"/> (or <see cref="NonZeroExitIsFatal"/> is set), in
/// which case they are fatal. Stdout and stderr go to the job's log.
/// </summary>
public sealed record CommandJob
{
    /// <summary>The name the built-in command handler is registered under.</summary>
    public const string HandlerName = "command";

    /// <summary>
    /// The program to run: an absolute path, or a name looked up on the silo's PATH. No shell is involved.
    /// </summary>
    public required string Executable { get; init; }
    /// <summary>Its arguments, passed as they are (no shell quoting or expansion).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];
    /// <summary>Environment variables added to the silo's own for this process.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>Working directory of the process, on the silo; null: the silo's.</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>Exit codes that fail the job at once, without retry.</summary>
    public IReadOnlyList<int> FatalExitCodes { get; init; } = [];
    /// <summary>With <see cref="NonZeroExitIsFatal"/>: exit codes that stay retriable.</summary>
    public IReadOnlyList<int> RetriableExitCodes { get; init; } = [];
    /// <summary>
    /// When true, every non-zero exit code is fatal, except those in <see cref="RetriableExitCodes"/>.
    /// </summary>
    public bool NonZeroExitIsFatal { get; init; }
}
