using Microsoft.Extensions.Logging;
using Scheduler.Execution;
using Scheduler.Storage;

namespace Scheduler.Execution;

/// <summary>
/// The log of one attempt: lines are buffered and written to the store in batches (every second while the job
/// writes, and at the end), so a running job's log can be followed and a finished job's log is complete.
/// </summary>
internal sealed partial class ExecutionLog(IJobLogStore store, JobId id, int attempt, TimeProvider time, ILogger logger) : IJobLog, IAsyncDisposable
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1);
    private const int FlushAtLines = 500;

    private readonly object _lock = new();
    private List<JobLogRecord> _pending = [];
    private Task _flushing = Task.CompletedTask;
    private ITimer? _timer;

    public void Write(LogStream stream, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_lock)
        {
            _pending.Add(new JobLogRecord(id, attempt, stream, time.GetUtcNow(), text));
            _timer ??= time.CreateTimer(static s => ((ExecutionLog)s!).Flush(), this, FlushEvery, FlushEvery);
            if (_pending.Count >= FlushAtLines)
                Flush();
        }
    }

    private void Flush()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
                return;
            var batch = _pending;
            _pending = [];
            _flushing = _flushing.ContinueWith(_ => WriteAsync(batch), TaskScheduler.Default).Unwrap();
        }
    }

    private async Task WriteAsync(List<JobLogRecord> batch)
    {
        try
        {
            await store.AppendLogAsync(batch);
        }
        catch (Exception e)
        {
            LogWriteFailed(logger, e, id, batch.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task flushing;
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            Flush();
            flushing = _flushing;
        }
        await flushing;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: {Count} log lines could not be stored")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, JobId jobId, int count);
}
