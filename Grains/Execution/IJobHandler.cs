namespace Scheduler.Execution;

/// <summary>
/// Code that runs a job, registered on the silo under a name with
/// <c>services.AddJobHandler&lt;THandler&gt;("name")</c>. A new instance is resolved from a DI scope per attempt.
/// </summary>
public interface IJobHandler
{
    /// <summary>
    /// Runs one attempt. Return a <see cref="JobResult"/>; an exception counts as a retriable failure.
    /// Watch <paramref name="cancellationToken"/>: it fires on timeout and on shutdown.
    /// </summary>
    Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken);
}

/// <summary>Writes to the job's log. Non-blocking: lines are buffered and stored in batches.</summary>
public interface IJobLog
{
    void Write(LogStream stream, string text);
}

/// <summary>What a handler knows about the attempt it runs.</summary>
public sealed class JobContext
{
    public required JobId Id { get; init; }
    public required int Attempt { get; init; }
    public required int MaxAttempts { get; init; }
    public required string Handler { get; init; }
    public required string Queue { get; init; }
    public required string Tenant { get; init; }
    public required ReadOnlyMemory<byte> Payload { get; init; }
    public required IJobLog Log { get; init; }

    /// <summary>Reads the payload as JSON (web defaults: camelCase, case-insensitive).</summary>
    public T ReadPayload<T>()
    {
        if (Payload.IsEmpty)
            throw new InvalidDataException($"job {Id} has no payload; handler '{Handler}' expects a {typeof(T).Name}");
        return System.Text.Json.JsonSerializer.Deserialize<T>(Payload.Span, PayloadJson.Options)
            ?? throw new InvalidDataException($"job {Id}: payload is JSON null; handler '{Handler}' expects a {typeof(T).Name}");
    }
}

public static class PayloadJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web);
}
