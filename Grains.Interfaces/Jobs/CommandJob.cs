namespace Scheduler;

/// <summary>
/// Payload of the built-in "command" handler: runs an executable. Exit code 0 is success; other codes are
/// retriable unless listed in <see cref="FatalExitCodes"/> (or <see cref="NonZeroExitIsFatal"/> is set), in
/// which case they are fatal. Stdout and stderr go to the job's log.
/// </summary>
public sealed record CommandJob
{
    public const string HandlerName = "command";

    public required string Executable { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = [];
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public string? WorkingDirectory { get; init; }
    public IReadOnlyList<int> FatalExitCodes { get; init; } = [];
    public IReadOnlyList<int> RetriableExitCodes { get; init; } = [];
    public bool NonZeroExitIsFatal { get; init; }
}
