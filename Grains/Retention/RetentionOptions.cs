namespace Scheduler;

/// <summary>
/// How long finished jobs and workflows are kept (configuration section "Scheduler:Retention"; see
/// <c>docs/retention.md</c>). A retention counts from when the job or workflow finished (its last write); null keeps
/// that state's rows until they are deleted by hand (dead letters: <c>scheduler dead-letters purge</c>).
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Whether this cluster deletes anything at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Succeeded jobs and workflows. Default 7 days.</summary>
    public TimeSpan? Succeeded { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Cancelled jobs and workflows. Default 7 days.</summary>
    public TimeSpan? Cancelled { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Failed jobs (dead letters) and failed workflows. Default null: kept until purged.</summary>
    public TimeSpan? Failed { get; set; }

    /// <summary>Most jobs one batch deletes (with their history and logs), in one transaction. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Most workflows one batch deletes, each with all its jobs. Default 20.</summary>
    public int WorkflowBatchSize { get; set; } = 20;

    /// <summary>The least pause after a full batch, before the next. Default 100 ms.</summary>
    public TimeSpan BatchPause { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The most of its time a run spends deleting: after a batch that took t, it pauses at least t × (1 − d) / d, so
    /// batches that slow down under load are spaced further apart. What keeps pruning from crowding out jobs. Default
    /// 0.05 (5%); 1 leaves only <see cref="BatchPause"/>.
    /// </summary>
    public double MaxDutyCycle { get; set; } = 0.05;

    /// <summary>The pause after a full batch that took <paramref name="batch"/>.</summary>
    public TimeSpan PauseAfter(TimeSpan batch)
    {
        var spaced = TimeSpan.FromTicks((long)Math.Round(Math.Min(TimeSpan.FromMinutes(1).Ticks, batch.Ticks * (1 - MaxDutyCycle) / MaxDutyCycle)));
        return spaced > BatchPause ? spaced : BatchPause;
    }

    /// <summary>How often a run starts (a run deletes batches until nothing old is left). Default 10 minutes.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The retention of jobs and workflows that finished in <paramref name="state"/>; null keeps them.</summary>
    public TimeSpan? For(JobState state) => state switch
    {
        JobState.Succeeded => Succeeded,
        JobState.Cancelled => Cancelled,
        JobState.Failed => Failed,
        _ => null,
    };

    /// <summary>Every rule broken, each naming its setting (prefixed with <paramref name="section"/>).</summary>
    public IEnumerable<string> Validate(string section)
    {
        foreach (var (name, value) in new[] { (nameof(Succeeded), Succeeded), (nameof(Cancelled), Cancelled), (nameof(Failed), Failed) })
        {
            if (value is { } retention && (retention < TimeSpan.FromMinutes(1) || retention > TimeSpan.FromDays(36_500)))
                yield return $"{section}:{name} must be 1 minute to 36500 days, or empty to keep these jobs (was {retention})";
        }
        if (BatchSize is < 1 or > 10_000)
            yield return $"{section}:BatchSize must be 1 to 10000 (was {BatchSize})";
        if (WorkflowBatchSize is < 1 or > 1_000)
            yield return $"{section}:WorkflowBatchSize must be 1 to 1000 (was {WorkflowBatchSize})";
        if (BatchPause < TimeSpan.Zero || BatchPause > TimeSpan.FromMinutes(1))
            yield return $"{section}:BatchPause must be 0 to 1 minute (was {BatchPause})";
        if (!(MaxDutyCycle is >= 0.01 and <= 1))
            yield return $"{section}:MaxDutyCycle must be 0.01 to 1 (was {MaxDutyCycle})";
        if (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(1))
            yield return $"{section}:Interval must be 1 minute to 1 day (was {Interval})";
    }
}
