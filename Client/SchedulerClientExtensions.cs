using System.Collections.Immutable;
using System.Text.Json;

namespace Scheduler.Client;

/// <summary>What applications usually type: one job, typed payloads, command jobs, one dead letter.</summary>
public static class SchedulerClientExtensions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Submits one job; throws <see cref="SchedulerException"/> when it is refused.</summary>
    public static async Task<SubmitResult> SubmitAsync(this ISchedulerClient client, JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var results = await client.SubmitManyAsync([request], cancellationToken);
        return results[0];
    }

    /// <summary>Submits a job whose payload is <paramref name="payload"/> as JSON.</summary>
    public static Task<SubmitResult> SubmitAsync<TPayload>(this ISchedulerClient client, string handler, TPayload payload,
        Func<JobRequest, JobRequest>? configure = null, CancellationToken cancellationToken = default)
    {
        var request = new JobRequest { Handler = handler, Payload = ToPayload(payload) };
        return client.SubmitAsync(configure is null ? request : configure(request), cancellationToken);
    }

    /// <summary>Submits a job for the built-in "command" handler.</summary>
    public static Task<SubmitResult> SubmitCommandAsync(this ISchedulerClient client, CommandJob command,
        Func<JobRequest, JobRequest>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentException.ThrowIfNullOrWhiteSpace(command.Executable, nameof(command.Executable));
        return client.SubmitAsync(CommandJob.HandlerName, command, configure, cancellationToken);
    }

    /// <summary>Requeues one dead-lettered job (see <see cref="ISchedulerClient.RequeueAsync"/>).</summary>
    public static async Task<RequeueOutcome> RequeueAsync(this ISchedulerClient client, JobId id, int? attempts = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var results = await client.RequeueAsync([id], attempts, cancellationToken);
        return results[0].Outcome;
    }

    /// <summary>
    /// What there is to know about a dead-lettered job: its status (with <see cref="JobStatus.DeadLetterReason"/> and
    /// <see cref="JobStatus.LastError"/>) and every transition. Null when no such job exists; a job that is not Failed
    /// is returned too (<see cref="DeadLetterReport.IsDeadLettered"/> is false).
    /// </summary>
    public static async Task<DeadLetterReport?> InspectDeadLetterAsync(this ISchedulerClient client, JobId id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var status = await client.GetStatusAsync(id, cancellationToken);
        if (status is null)
            return null;
        var history = await client.GetHistoryAsync(id, cancellationToken);
        return new DeadLetterReport(status, history);
    }

    /// <summary>
    /// Serializes <paramref name="payload"/> as JSON (web defaults: camelCase), the form handlers read with
    /// <c>ReadPayload</c>.
    /// </summary>
    public static ImmutableArray<byte> ToPayload<TPayload>(TPayload payload) =>
        ImmutableArray.Create(JsonSerializer.SerializeToUtf8Bytes(payload, Json));
}

/// <summary>A job's status and history, as <see cref="SchedulerClientExtensions.InspectDeadLetterAsync"/> reads them.</summary>
public sealed record DeadLetterReport(JobStatus Status, IReadOnlyList<JobTransition> History)
{
    /// <summary>True when the job is Failed, i.e. in the dead-letter queue.</summary>
    public bool IsDeadLettered => Status.State == JobState.Failed;
}
