using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Webhooks;

/// <summary>
/// Makes one attempt of a delivery off the grain's turn: reads the job's or workflow's stored end, signs and posts
/// it, and reports the outcome to the delivery's grain. Retries are the grain's (durable, counted in the record), not
/// this class's: an in-memory retry loop would die with its silo and leave the record silent about its attempts.
/// </summary>
public sealed partial class WebhookSender(
    IHttpClientFactory clients,
    IGrainFactory grains,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<WebhookSender> logger)
{
    /// <summary>The named <see cref="HttpClient"/> webhook calls use (configure its handler, e.g. a proxy, by this name).</summary>
    public const string ClientName = "scheduler-webhooks";

    private readonly WebhookOptions _options = options.Value.Webhooks;

    /// <summary>Starts attempt <paramref name="attempt"/> on the thread pool; its outcome goes to the delivery's grain.</summary>
    public void Send(WebhookDelivery delivery, int attempt) => _ = Task.Run(() => SendAsync(delivery, attempt));

    private async Task SendAsync(WebhookDelivery delivery, int attempt)
    {
        int? status = null;
        string? error;
        var giveUp = false;
        try
        {
            (status, error, giveUp) = await AttemptAsync(delivery, attempt);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = $"{e.GetType().Name}: {e.Message}";
        }
        try
        {
            await grains.GetGrain<IWebhookGrain>(delivery.Id).Report(attempt, status, error, giveUp);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The grain's timer or reminder makes the attempt again once this one counts as lost.
            LogReportFailed(logger, e, delivery.Id, attempt);
        }
    }

    private async Task<(int? Status, string? Error, bool GiveUp)> AttemptAsync(WebhookDelivery delivery, int attempt)
    {
        var (body, problem, superseded) = await WebhookBody.BuildAsync(grains, delivery);
        if (body is null)
            return (null, problem, superseded);
        if (_options.SecretFor(delivery.Tenant) is not { } secret)
            return (null, "no webhook secret is configured (Scheduler:Webhooks:Secret): calls are not sent unsigned", true);

        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSignature.Create(secret, time.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Delivery, delivery.Id);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Event, delivery.Event);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Attempt, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, time);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? (status, null, false) : (status, $"HTTP {status} {response.ReasonPhrase}".TrimEnd(), false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (null, $"no answer within {_options.AttemptTimeout.TotalSeconds:0.###} s", false);
        }
        catch (HttpRequestException e)
        {
            return (null, e.Message, false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId}: reporting attempt {Attempt} failed; it is made again")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string deliveryId, int attempt);
}

/// <summary>The JSON a webhook posts, built from the subject's stored end (never from memory alone).</summary>
internal static class WebhookBody
{
    public static async Task<(byte[]? Body, string? Problem, bool Superseded)> BuildAsync(IGrainFactory grains, WebhookDelivery delivery)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("id", delivery.Id);
            json.WriteString("event", delivery.Event);
            if (delivery.SubjectKind == WebhookSubjects.Job)
            {
                var job = await grains.GetGrain<IJobGrain>(delivery.SubjectId).GetStatus();
                if (Unready(job?.State.IsFinal() == true, job?.FinishedAt, delivery) is { } problem)
                    return (null, problem.Text, problem.Superseded);
                json.WriteStartObject("job");
                json.WriteString("id", job!.Id.Value);
                json.WriteString("state", job.State.ToString().ToLowerInvariant());
                json.WriteString("handler", job.Handler);
                json.WriteString("queue", job.Queue);
                json.WriteString("tenant", job.Tenant);
                json.WriteNumber("attempt", job.Attempt);
                json.WriteNumber("maxAttempts", job.MaxAttempts);
                json.WriteString("createdAt", job.CreatedAt);
                WriteTime(json, "startedAt", job.StartedAt);
                WriteTime(json, "finishedAt", job.FinishedAt);
                if (job.LastError is { } error)
                    json.WriteString("lastError", error);
                if (job.IdempotencyKey is { } key)
                    json.WriteString("idempotencyKey", key);
                json.WriteEndObject();
            }
            else
            {
                var workflow = await grains.GetGrain<IWorkflowGrain>(delivery.SubjectId).GetStatus();
                if (Unready(workflow?.State.IsFinal() == true, workflow?.FinishedAt, delivery) is { } problem)
                    return (null, problem.Text, problem.Superseded);
                json.WriteStartObject("workflow");
                json.WriteString("id", workflow!.Id.Value);
                if (workflow.Name is { } name)
                    json.WriteString("name", name);
                json.WriteString("state", workflow.State.ToString().ToLowerInvariant());
                json.WriteString("tenant", workflow.Tenant);
                json.WriteString("createdAt", workflow.CreatedAt);
                WriteTime(json, "finishedAt", workflow.FinishedAt);
                if (workflow.Reason is { } reason)
                    json.WriteString("reason", reason);
                json.WriteStartObject("counts");
                foreach (var (state, count) in workflow.Counts.OrderBy(c => c.Key))
                    json.WriteNumber(state.ToString().ToLowerInvariant(), count);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return (stream.ToArray(), null, false);
    }

    /// <summary>
    /// Null when the stored subject has the end this delivery reports. Not final yet: its end was recorded and its
    /// write failed (it ends again, later). Final at another time: a later end replaced it, with a delivery of its own.
    /// </summary>
    private static (string Text, bool Superseded)? Unready(bool final, DateTimeOffset? finishedAt, WebhookDelivery delivery)
    {
        if (finishedAt is null && !final)
            return ($"the {delivery.SubjectKind} has not stored its end yet", false);
        if (!final || finishedAt != delivery.SubjectFinishedAt)
            return ($"superseded: the {delivery.SubjectKind} did not end as recorded (its end was not stored); a later end has its own delivery", true);
        return null;
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? value)
    {
        if (value is { } time)
            json.WriteString(name, time);
    }
}

/// <summary>What a delivery is about, and how its id is made.</summary>
public static class WebhookSubjects
{
    /// <summary>A job's end.</summary>
    public const string Job = "job";
    /// <summary>A workflow's end.</summary>
    public const string Workflow = "workflow";

    /// <summary>The webhook event of an end state; null for a state that is not an end.</summary>
    public static WebhookEvent? EventOf(JobState state) => state switch
    {
        JobState.Succeeded => WebhookEvent.Succeeded,
        JobState.Failed => WebhookEvent.Failed,
        JobState.Cancelled => WebhookEvent.Cancelled,
        _ => null,
    };

    /// <summary>The webhook event of a workflow's end state; null for a state that is not an end.</summary>
    public static WebhookEvent? EventOf(WorkflowState state) => state switch
    {
        WorkflowState.Succeeded => WebhookEvent.Succeeded,
        WorkflowState.Failed => WebhookEvent.Failed,
        WorkflowState.Cancelled => WebhookEvent.Cancelled,
        _ => null,
    };

    /// <summary>
    /// The delivery of one end of <paramref name="subjectId"/>: its id names the subject and the end's time, so a
    /// second recording of the same end is the same delivery, and a later end (after a requeue) a new one.
    /// </summary>
    public static WebhookDelivery Delivery(string kind, Guid subjectId, string tenant, WebhookRequest webhook, WebhookEvent end, DateTimeOffset finishedAt) => new()
    {
        Id = $"{kind}:{subjectId:N}:{finishedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        SubjectKind = kind,
        SubjectId = subjectId,
        Tenant = tenant,
        Event = WebhookHeaders.EventName(kind, end),
        Url = webhook.Url,
        CreatedAt = finishedAt,
        SubjectFinishedAt = finishedAt,
    };
}
