using System.Collections.Immutable;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using V1 = Scheduler.Grpc.V1;

namespace Scheduler.Rest.Grpc;

/// <summary>Between the .proto's messages and the SDK's types. A bad field is INVALID_ARGUMENT naming it.</summary>
internal static class GrpcMapping
{
    public static JobId ParseId(string id, string field = "id") =>
        Guid.TryParse(id, out var guid) && guid != Guid.Empty
            ? new JobId(guid)
            : throw Invalid($"{field} '{Shorten(id)}' is not a job id (a GUID such as 0199c3a4-5b6e-7f80-9a1b-2c3d4e5f6a7b)");

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>The SDK's request; the SDK then validates it as it validates any submit (its messages name the field).</summary>
    public static JobRequest ToRequest(V1.JobRequest? job, string field)
    {
        if (job is null)
            throw Invalid($"{field} is missing");
        return new JobRequest
        {
            Handler = job.Handler,
            Payload = job.Payload.IsEmpty ? [] : ImmutableArray.Create(job.Payload.Span),
            Priority = job.HasPriority ? job.Priority : JobPriority.Default,
            Queue = string.IsNullOrEmpty(job.Queue) ? JobRequest.DefaultQueue : job.Queue,
            Tenant = string.IsNullOrEmpty(job.Tenant) ? JobRequest.DefaultTenant : job.Tenant,
            Limits = new JobLimits
            {
                MaxAttempts = job.HasMaxAttempts ? job.MaxAttempts : null,
                Timeout = job.Timeout is null ? null : ToTimeSpan(job.Timeout, $"{field}.timeout"),
            },
            IdempotencyKey = string.IsNullOrEmpty(job.IdempotencyKey) ? null : job.IdempotencyKey,
            Id = string.IsNullOrEmpty(job.Id) ? null : ParseId(job.Id, $"{field}.id"),
            NotBefore = job.NotBefore is null ? null : ToTime(job.NotBefore, $"{field}.not_before"),
        };
    }

    public static TimeSpan ToTimeSpan(Duration duration, string field)
    {
        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Seconds > 10L * 365 * 24 * 3600)
            throw Invalid($"{field} {duration} is out of range: give a positive duration");
        return duration.ToTimeSpan();
    }

    private static DateTimeOffset ToTime(Timestamp time, string field)
    {
        try
        {
            return time.ToDateTimeOffset();
        }
        catch (InvalidOperationException e)
        {
            throw Invalid($"{field} is not a valid time: {e.Message}");
        }
    }

    public static V1.SubmitResponse ToResponse(SubmitResult result) => new()
    {
        Id = result.Id.ToString(),
        Outcome = result.Outcome == SubmitOutcome.Accepted ? V1.SubmitOutcome.Accepted : V1.SubmitOutcome.Existing,
        State = (V1.JobState)(int)result.State,
    };

    public static V1.JobStatus ToStatus(JobStatus status)
    {
        var reply = new V1.JobStatus
        {
            Id = status.Id.ToString(),
            State = (V1.JobState)(int)status.State,
            Handler = status.Handler,
            Queue = status.Queue,
            Priority = status.Priority,
            Tenant = status.Tenant,
            Attempt = status.Attempt,
            MaxAttempts = status.MaxAttempts,
            CreatedAt = Timestamp.FromDateTimeOffset(status.CreatedAt),
            StartedAt = status.StartedAt is { } started ? Timestamp.FromDateTimeOffset(started) : null,
            FinishedAt = status.FinishedAt is { } finished ? Timestamp.FromDateTimeOffset(finished) : null,
            LastError = status.LastError ?? "",
            Silo = status.Silo ?? "",
            IdempotencyKey = status.IdempotencyKey ?? "",
            NextAttemptAt = status.NextAttemptAt is { } next ? Timestamp.FromDateTimeOffset(next) : null,
            WaitingFor = status.WaitingFor ?? "",
        };
        return reply;
    }

    public static V1.LogLine ToLine(JobLogLine line) => new()
    {
        Sequence = line.Sequence,
        Timestamp = Timestamp.FromDateTimeOffset(line.Timestamp),
        Attempt = line.Attempt,
        Stream = line.Stream switch
        {
            LogStream.StdOut => V1.LogStream.Stdout,
            LogStream.StdErr => V1.LogStream.Stderr,
            _ => V1.LogStream.System,
        },
        Text = line.Text,
    };

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
