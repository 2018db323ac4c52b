using System.Globalization;

namespace Scheduler.Tests.Chaos;

/// <summary>
/// Records when each attempt of a command job starts and when its last process is gone, from inside the command
/// (an ordinary <c>/bin/sh</c> script, as users run), into one shared file; then reads the file back.
/// </summary>
/// <remarks>
/// <para>
/// The start: the script appends <c>start JOB ATTEMPT SILO-RUN TIME</c> (job id and attempt from the environment the
/// command handler sets; the silo run from the silo process's own environment).
/// </para>
/// <para>
/// The end is measured, not assumed, so that it also exists for an attempt whose silo was killed with -9 (no line can
/// be written by a killed process): before the start line the script takes an exclusive <c>flock</c> on a lock file of
/// its own attempt, which every process of the attempt inherits (the <c>sleep</c> too), and starts an observer in a
/// session of its own (<c>setsid</c>, so the silo's kill of the attempt's process group does not reach it), and waits
/// until the observer is there. The observer waits for the same lock and appends <c>end JOB ATTEMPT TIME</c> once it
/// gets it: the lock is released
/// only when the last process holding it is gone, however it ended. So "end" is an upper bound of the attempt's
/// life, and it is late by at most the observer's wake-up, which makes the overlap check stricter, not looser.
/// </para>
/// <para>
/// Times are <c>/proc/uptime</c> (read with the shell's <c>read</c> builtin, so no process is started for a time
/// stamp), in hundredths of a second since boot: one clock for the scripts and the test on one machine. Two attempts
/// of one job in the same hundredth count as overlapping (between them lie at least two database commits, a pull and
/// a process start, far more than 10 ms).
/// </para>
/// <para>
/// Appends are single <c>printf</c> writes of well under PIPE_BUF to a file opened with O_APPEND (<c>&gt;&gt;</c>),
/// so the lines of concurrent scripts on every silo never interleave.
/// </para>
/// </remarks>
internal sealed class AttemptRecorder
{
    /// <summary>The silo process environment variable naming the silo run (name and start number).</summary>
    public const string SiloRunVariable = "SCHEDULER_TEST_SILO_RUN";

    /// <summary>
    /// Arguments: $1 the record file, $2 the lock directory, $3 seconds to sleep, $4 the observer's script. The observer
    /// does not inherit the held lock (<c>9&gt;&amp;-</c>), or it would wait for itself. The start is recorded only once
    /// the observer is in its session (it says so through a FIFO): before that, a kill of the attempt's process group
    /// would take the observer with it, and the attempt would have a start but never an end.
    /// </summary>
    private const string Script = """
        lock="$2/$SCHEDULER_JOB_ID.$SCHEDULER_ATTEMPT"
        exec 9>"$lock"
        flock 9 || exit 70
        mkfifo "$lock.ready" || exit 71
        setsid sh -c "$4" observer "$SCHEDULER_JOB_ID" "$SCHEDULER_ATTEMPT" "$1" "$lock" 9>&- </dev/null >/dev/null 2>&1 &
        read _ <"$lock.ready"
        read up _ </proc/uptime
        printf "start %s %s %s %s\n" "$SCHEDULER_JOB_ID" "$SCHEDULER_ATTEMPT" "${SCHEDULER_TEST_SILO_RUN:-unknown}" "$up" >>"$1"
        sleep "$3"
        """;

    /// <summary>
    /// Arguments: $1 job, $2 attempt, $3 the record file, $4 the attempt's lock file. Runs in a session of its own; says
    /// so, waits for the attempt's lock (free once every process of the attempt is gone), and records the end.
    /// </summary>
    private const string Observer = """
        printf x >"$4.ready"
        flock "$4" true
        read up _ </proc/uptime
        printf "end %s %s %s\n" "$1" "$2" "$up" >>"$3"
        """;

    public AttemptRecorder(string directory)
    {
        Directory.CreateDirectory(directory);
        LockDirectory = Path.Combine(directory, "locks");
        Directory.CreateDirectory(LockDirectory);
        RecordFile = Path.Combine(directory, "attempts.txt");
        File.WriteAllText(RecordFile, "");
    }

    public string RecordFile { get; }

    public string LockDirectory { get; }

    /// <summary>A command job that records its attempts and sleeps for <paramref name="duration"/>.</summary>
    public CommandJob Command(TimeSpan duration) => new()
    {
        Executable = "/bin/sh",
        Arguments = ["-c", Script, "recorded-job", RecordFile, LockDirectory, duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture), Observer],
    };

    /// <summary>Now, in the scripts' clock (hundredths of a second since boot).</summary>
    public static long Now()
    {
        var text = File.ReadAllText("/proc/uptime");
        return ParseUptime(text[..text.IndexOf(' ')]);
    }

    /// <summary>Every attempt recorded so far, by job, in attempt order; an attempt may lack its start or its end.</summary>
    public Dictionary<Guid, SortedDictionary<int, RecordedAttempt>> Read()
    {
        var jobs = new Dictionary<Guid, SortedDictionary<int, RecordedAttempt>>();
        foreach (var line in File.ReadAllLines(RecordFile))
        {
            var fields = line.Split(' ');
            if (fields.Length < 4)
                throw new InvalidDataException($"unreadable record line '{line}'");
            var id = Guid.Parse(fields[1]);
            var attempt = int.Parse(fields[2], CultureInfo.InvariantCulture);
            if (!jobs.TryGetValue(id, out var attempts))
                jobs[id] = attempts = [];
            var recorded = attempts.GetValueOrDefault(attempt) ?? new RecordedAttempt(attempt);
            attempts[attempt] = fields[0] switch
            {
                "start" when recorded.Start is null => recorded with { SiloRun = fields[3], Start = ParseUptime(fields[4]) },
                "end" when recorded.End is null => recorded with { End = ParseUptime(fields[3]) },
                _ => throw new InvalidDataException($"unexpected record line '{line}' (a second start or end of one attempt?)"),
            };
        }
        return jobs;
    }

    private static long ParseUptime(string text)
    {
        // "12345.67": hundredths of a second.
        var dot = text.IndexOf('.');
        return long.Parse(text[..dot], CultureInfo.InvariantCulture) * 100 + long.Parse(text[(dot + 1)..].PadRight(2, '0')[..2], CultureInfo.InvariantCulture);
    }
}

/// <summary>One attempt as recorded: times in hundredths of a second since boot.</summary>
internal sealed record RecordedAttempt(int Attempt, string? SiloRun = null, long? Start = null, long? End = null);
