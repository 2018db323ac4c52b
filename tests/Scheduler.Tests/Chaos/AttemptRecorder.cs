using System.Collections.Concurrent;
using System.Globalization;

namespace Scheduler.Tests.Chaos;

/// <summary>
/// Records when each attempt of a command job starts and when its last process is gone. The start is written from
/// inside the command (an ordinary <c>/bin/sh</c> script, as users run) to one shared file; the end is observed by the
/// test process while the run goes on.
/// </summary>
/// <remarks>
/// <para>
/// The start: the script takes an exclusive <c>flock</c> on a lock file of its own attempt (job id and attempt from the
/// environment the command handler sets), which every process of the attempt inherits (the <c>sleep</c> it execs
/// too), and then appends <c>start JOB ATTEMPT SILO-RUN TIME</c> (the silo run from the silo process's environment).
/// </para>
/// <para>
/// The end is measured, not assumed, so that it also exists for an attempt whose silo was killed with -9 (a killed
/// process writes nothing): <see cref="StartWatching"/> tails the file, and for each attempt that has started, tries
/// every 20 ms to take the same lock without waiting (.NET takes a non-blocking exclusive <c>flock</c> when a file is
/// opened with <see cref="FileShare.None"/>). The lock is free only once the last process holding it is gone, however
/// it ended, so the end is an upper bound of the attempt's life, late by at most one poll and the test's own
/// scheduling: that makes the overlap check stricter, not looser.
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
internal sealed class AttemptRecorder : IAsyncDisposable
{
    /// <summary>The silo process environment variable naming the silo run (name and start number).</summary>
    public const string SiloRunVariable = "SCHEDULER_TEST_SILO_RUN";

    /// <summary>Arguments: $1 the record file, $2 the lock directory, $3 seconds to sleep.</summary>
    private const string Script = """
        exec 9>"$2/$SCHEDULER_JOB_ID.$SCHEDULER_ATTEMPT"
        flock 9 || exit 70
        read up _ </proc/uptime
        printf "start %s %s %s %s\n" "$SCHEDULER_JOB_ID" "$SCHEDULER_ATTEMPT" "${SCHEDULER_TEST_SILO_RUN:-unknown}" "$up" >>"$1"
        exec sleep "$3"
        """;

    /// <summary>
    /// As <see cref="Script"/>, and an attempt that ends on its own writes <c>end JOB ATTEMPT TIME</c> as its last act:
    /// an exact end where two attempts of different jobs may follow each other within milliseconds (a concurrency key).
    /// </summary>
    private const string ScriptWithEnd = """
        exec 9>"$2/$SCHEDULER_JOB_ID.$SCHEDULER_ATTEMPT"
        flock 9 || exit 70
        read up _ </proc/uptime
        printf "start %s %s %s %s\n" "$SCHEDULER_JOB_ID" "$SCHEDULER_ATTEMPT" "${SCHEDULER_TEST_SILO_RUN:-unknown}" "$up" >>"$1"
        sleep "$3"
        read up _ </proc/uptime
        printf "end %s %s %s\n" "$SCHEDULER_JOB_ID" "$SCHEDULER_ATTEMPT" "$up" >>"$1"
        """;

    private readonly ConcurrentDictionary<(Guid Job, int Attempt), RecordedAttempt> _attempts = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _watching = Task.CompletedTask;

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
        Arguments = ["-c", Script, "recorded-job", RecordFile, LockDirectory, duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)],
    };

    /// <summary>As <see cref="Command(TimeSpan)"/>; an attempt that is not killed records its own end.</summary>
    public CommandJob CommandRecordingEnd(TimeSpan duration) => Command(duration) with
    {
        Arguments = ["-c", ScriptWithEnd, "recorded-job", RecordFile, LockDirectory, duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)],
    };

    /// <summary>Now, in the scripts' clock (hundredths of a second since boot).</summary>
    public static long Now()
    {
        var text = File.ReadAllText("/proc/uptime");
        return ParseUptime(text[..text.IndexOf(' ')]);
    }

    /// <summary>Starts following the record file and observing the ends of the attempts that started.</summary>
    public void StartWatching() => _watching = Task.Run(() => WatchAsync(_stop.Token));

    /// <summary>Every attempt seen so far, by job, in attempt order; an attempt still running has no end yet.</summary>
    public Dictionary<Guid, SortedDictionary<int, RecordedAttempt>> Read()
    {
        if (_watching.IsFaulted)
            _watching.GetAwaiter().GetResult();
        var jobs = new Dictionary<Guid, SortedDictionary<int, RecordedAttempt>>();
        foreach (var ((job, attempt), recorded) in _attempts)
        {
            if (!jobs.TryGetValue(job, out var attempts))
                jobs[job] = attempts = [];
            attempts[attempt] = recorded;
        }
        return jobs;
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        using var file = new FileStream(RecordFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(file);
        var partial = "";
        var open = new List<(Guid Job, int Attempt)>();
        while (!cancellationToken.IsCancellationRequested)
        {
            // New lines: complete ones only (a line is one write, but a read may end in the middle of it).
            var text = partial + await reader.ReadToEndAsync(cancellationToken);
            var lines = text.Split('\n');
            partial = lines[^1];
            foreach (var line in lines[..^1])
            {
                if (line.StartsWith("end ", StringComparison.Ordinal))
                    open.Remove(Ended(line));
                else
                    open.Add(Started(line));
            }

            // Attempts whose lock is free now have ended.
            open.RemoveAll(key =>
            {
                try
                {
                    using var probe = new FileStream(Path.Combine(LockDirectory, $"{key.Job}.{key.Attempt}"), FileMode.Open, FileAccess.Read, FileShare.None);
                }
                catch (IOException)
                {
                    return false; // still held
                }
                var now = Now();
                _attempts.AddOrUpdate(key, _ => throw new InvalidOperationException("unknown attempt"), (_, a) => a with { End = now });
                return true;
            });
            await Task.Delay(20, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private (Guid, int) Started(string line)
    {
        var fields = line.Split(' ');
        if (fields is not ["start", var job, var attempt, var run, var time])
            throw new InvalidDataException($"unreadable record line '{line}'");
        var key = (Guid.Parse(job), int.Parse(attempt, CultureInfo.InvariantCulture));
        var recorded = new RecordedAttempt(key.Item2, run, ParseUptime(time));
        if (!_attempts.TryAdd(key, recorded))
            throw new InvalidDataException($"attempt {key.Item2} of job {key.Item1} started twice");
        return key;
    }

    private (Guid, int) Ended(string line)
    {
        var fields = line.Split(' ');
        if (fields is not ["end", var job, var attempt, var time])
            throw new InvalidDataException($"unreadable record line '{line}'");
        var key = (Guid.Parse(job), int.Parse(attempt, CultureInfo.InvariantCulture));
        var end = ParseUptime(time);
        _attempts.AddOrUpdate(key, _ => throw new InvalidDataException($"attempt {key.Item2} of job {key.Item1} ended before it started"), (_, a) => a with { End = end });
        return key;
    }

    private static long ParseUptime(string text)
    {
        // "12345.67": hundredths of a second.
        var dot = text.IndexOf('.');
        return long.Parse(text[..dot], CultureInfo.InvariantCulture) * 100 + long.Parse(text[(dot + 1)..].PadRight(2, '0')[..2], CultureInfo.InvariantCulture);
    }

    /// <summary>Stops watching; rethrows what went wrong while watching (an unreadable line, say).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _watching;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>One attempt as recorded: times in hundredths of a second since boot.</summary>
internal sealed record RecordedAttempt(int Attempt, string SiloRun, long Start, long? End = null);
