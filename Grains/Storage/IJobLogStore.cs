namespace Scheduler.Storage;

/// <summary>What handlers write while they run, per job and attempt. Every method returns only once its change is durable.</summary>
public interface IJobLogStore
{
    /// <summary>Appends log lines; the store assigns each a sequence number, increasing per job.</summary>
    Task AppendLogAsync(IReadOnlyList<JobLogRecord> lines, CancellationToken cancellationToken = default);

    /// <summary>Lines with Sequence greater than <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<JobLogLine>> ReadLogAsync(JobId id, long afterSequence, int max, CancellationToken cancellationToken = default);
}

public sealed record JobLogRecord(
    JobId Id,
    int Attempt,
    LogStream Stream,
    DateTimeOffset Timestamp,
    string Text);
