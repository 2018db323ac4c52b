using System.Collections.Concurrent;
using Scheduler.Execution;

namespace Scheduler.Tests.Infrastructure;

/// <summary>Payload of the "test.work" handler: how long to run and what to answer.</summary>
public sealed record WorkPayload(int SleepMs = 0, string Outcome = "success", int FailTimes = 0, string? Tag = null, int FirstAttemptSleepMs = 0);

public sealed record Execution(JobId Id, int Attempt, string? Tag, DateTimeOffset Started, DateTimeOffset? Ended, string? Silo = null);

/// <summary>Every attempt the "test.work" handler ran, in this process (shared by all silos of a test cluster).</summary>
public sealed class ExecutionBook
{
    private readonly ConcurrentDictionary<(JobId, int), Execution> _runs = new();

    public void Started(JobId id, int attempt, string? tag, string? silo = null) => _runs[(id, attempt)] = new(id, attempt, tag, DateTimeOffset.UtcNow, null, silo);

    public void Ended(JobId id, int attempt) => _runs.AddOrUpdate((id, attempt), _ => throw new InvalidOperationException(), (_, e) => e with { Ended = DateTimeOffset.UtcNow });

    public IReadOnlyList<Execution> Of(JobId id) => [.. _runs.Values.Where(r => r.Id == id).OrderBy(r => r.Attempt)];

    public IReadOnlyList<Execution> Tagged(string tag) => [.. _runs.Values.Where(r => r.Tag == tag).OrderBy(r => r.Started)];
}

/// <summary>Sleeps, then succeeds, asks for a retry, fails fatally or throws, as its payload says.</summary>
public sealed class WorkHandler(ExecutionBook book, ILocalSiloDetails silo) : IJobHandler
{
    public const string Name = "test.work";

    /// <summary>Registered with ExceptionsAreFatal, 5 attempts and no backoff.</summary>
    public const string StrictName = "test.work.strict";

    /// <summary>Registered with 2 attempts and a 1 hour backoff without jitter.</summary>
    public const string PatientName = "test.work.patient";

    public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var work = context.Payload.IsEmpty ? new WorkPayload() : context.ReadPayload<WorkPayload>();
        book.Started(context.Id, context.Attempt, work.Tag, silo.SiloAddress.ToString());
        try
        {
            context.Log.Write(LogStream.System, $"work {work.Tag} attempt {context.Attempt}");
            var sleep = context.Attempt == 1 && work.FirstAttemptSleepMs > 0 ? work.FirstAttemptSleepMs : work.SleepMs;
            if (sleep > 0)
                await Task.Delay(sleep, cancellationToken);
            if (context.Attempt <= work.FailTimes)
                return JobResult.Retry($"failing on purpose, attempt {context.Attempt}");
            return work.Outcome switch
            {
                "retry" => JobResult.Retry("asked to retry"),
                "fatal" => JobResult.Fatal("asked to fail"),
                "throw" => throw new InvalidOperationException("handler threw on purpose"),
                _ => JobResult.Success(),
            };
        }
        finally
        {
            book.Ended(context.Id, context.Attempt);
        }
    }
}
