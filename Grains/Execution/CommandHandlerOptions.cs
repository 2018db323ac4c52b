namespace Scheduler.Execution;

/// <summary>
/// Options of the built-in "command" handler (<see cref="CommandJobHandler"/>).
/// </summary>
/// <remarks>
/// <para>
/// Security: a command job runs an arbitrary executable as the silo's operating-system user, with the silo's
/// environment (plus whatever the job adds) and its file-system rights. Anyone who can submit jobs to a silo
/// that serves the "command" handler can therefore run code as that user. Restrict who can submit, run silos
/// under a dedicated low-privilege account, and set <see cref="AllowedExecutables"/> to the commands you mean to allow.
/// </para>
/// </remarks>
public sealed class CommandHandlerOptions
{
    public const string SectionName = "Scheduler:Handlers:Command";

    /// <summary>
    /// Executables a job may run. Empty (the default) allows any executable — see the security remark on this class.
    /// Each entry is either an absolute path (matches a job whose executable resolves to exactly that file)
    /// or a bare file name such as "pg_dump" (matches a job that names the executable the same way, bare,
    /// which is then looked up on the silo's PATH). A job naming a relative path ("./x", "bin/x") never matches a list.
    /// </summary>
    public IList<string> AllowedExecutables { get; set; } = [];

    /// <summary>
    /// Most stdout + stderr lines stored per attempt; the rest are counted, not stored, and one System line says how many
    /// were dropped. The pipes are still read to the end, so the process never blocks on a full pipe. Default 10,000.
    /// </summary>
    public int MaxLogLinesPerAttempt { get; set; } = 10_000;

    /// <summary>Longest stored line, in characters; longer lines are cut and marked. Default 8 KiB (8,192).</summary>
    public int MaxLineLength { get; set; } = 8 * 1024;

    /// <summary>
    /// After the process exits, how long to keep reading its output. A background process it started may keep the pipes
    /// open; after this the handler stops reading and reports the exit code. Default 5 s.
    /// </summary>
    public TimeSpan OutputDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>After the process tree is killed (cancellation), how long to wait for it to exit. Default 10 s.</summary>
    public TimeSpan KillTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The problems with these options, each naming the option and the rule broken; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (AllowedExecutables is null)
            yield return $"{SectionName}:{nameof(AllowedExecutables)} must not be null (use an empty list to allow any executable)";
        else
        {
            foreach (var entry in AllowedExecutables)
            {
                if (string.IsNullOrWhiteSpace(entry))
                    yield return $"{SectionName}:{nameof(AllowedExecutables)} must not contain empty entries";
                else if (!Path.IsPathFullyQualified(entry) && entry.IndexOfAny(Separators) >= 0)
                    yield return $"{SectionName}:{nameof(AllowedExecutables)} entry '{entry}' must be an absolute path or a bare file name";
            }
        }
        if (MaxLogLinesPerAttempt < 1)
            yield return $"{SectionName}:{nameof(MaxLogLinesPerAttempt)} must be at least 1 (was {MaxLogLinesPerAttempt})";
        if (MaxLineLength < 16)
            yield return $"{SectionName}:{nameof(MaxLineLength)} must be at least 16 (was {MaxLineLength})";
        if (OutputDrainTimeout < TimeSpan.Zero)
            yield return $"{SectionName}:{nameof(OutputDrainTimeout)} must not be negative (was {OutputDrainTimeout})";
        if (KillTimeout <= TimeSpan.Zero)
            yield return $"{SectionName}:{nameof(KillTimeout)} must be positive (was {KillTimeout})";
    }

    internal static readonly char[] Separators = ['/', '\\'];
}
