using System.Collections.Immutable;

namespace Scheduler;

/// <summary>Which end of a job or workflow a webhook is called for.</summary>
[GenerateSerializer, Alias("scheduler.WebhookEvent")]
public enum WebhookEvent
{
    /// <summary>It succeeded.</summary>
    Succeeded = 1,
    /// <summary>It failed (a job: dead-lettered).</summary>
    Failed = 2,
    /// <summary>It was cancelled.</summary>
    Cancelled = 3,
}

/// <summary>
/// A callback URL called (a signed JSON POST) when a job or workflow ends; see docs/webhooks.md. A schedule's runs
/// call the webhook of its job or workflow template.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.WebhookRequest")]
public sealed record WebhookRequest
{
    /// <summary>Longest URL accepted.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>An absolute http or https URL, at most <see cref="MaxUrlLength"/> characters.</summary>
    [Id(0)] public required string Url { get; init; }

    /// <summary>The ends it is called for; empty (the default): every end.</summary>
    [Id(1)] public ImmutableArray<WebhookEvent> Events { get; init; } = [];

    /// <summary>Whether an end in this state calls the webhook.</summary>
    public bool Wants(WebhookEvent end) => Events.IsDefaultOrEmpty || Events.Contains(end);

    /// <summary>What is wrong with this webhook; null when it is valid.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Url))
            return "webhook url must not be empty";
        if (Url.Length > MaxUrlLength)
            return $"webhook url is {Url.Length} characters; the limit is {MaxUrlLength}";
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return $"webhook url '{Clip(Url)}' is not an absolute http or https URL";
        if (!string.IsNullOrEmpty(uri.UserInfo))
            return "webhook url must not carry a user name or password";
        if (!Events.IsDefault && Events.Any(e => !Enum.IsDefined(e)))
            return $"webhook event {(int)Events.First(e => !Enum.IsDefined(e))} does not exist: use succeeded, failed or cancelled";
        return null;
    }

    private static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "...";
}

/// <summary>Where a webhook delivery stands.</summary>
[GenerateSerializer, Alias("scheduler.WebhookDeliveryState")]
public enum WebhookDeliveryState
{
    /// <summary>Not delivered yet: an attempt is due or running.</summary>
    Pending = 1,
    /// <summary>The receiver answered 2xx.</summary>
    Delivered = 2,
    /// <summary>Given up: attempts or time ran out.</summary>
    Failed = 3,
}

/// <summary>One webhook call (with its retries) for one end of a job or workflow: its durable record.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WebhookDelivery")]
public sealed record WebhookDelivery
{
    /// <summary>Its id, sent as the <c>X-Scheduler-Delivery</c> header: the same on every retry (receivers dedupe on it).</summary>
    [Id(0)] public required string Id { get; init; }
    /// <summary>"job" or "workflow".</summary>
    [Id(1)] public required string SubjectKind { get; init; }
    /// <summary>The job's or workflow's id.</summary>
    [Id(2)] public required Guid SubjectId { get; init; }
    /// <summary>Its tenant.</summary>
    [Id(3)] public required string Tenant { get; init; }
    /// <summary>The end it reports, e.g. "job.succeeded" (the <c>X-Scheduler-Event</c> header).</summary>
    [Id(4)] public required string Event { get; init; }
    /// <summary>Where it is posted.</summary>
    [Id(5)] public required string Url { get; init; }
    /// <summary>Where it stands.</summary>
    [Id(6)] public WebhookDeliveryState State { get; init; } = WebhookDeliveryState.Pending;
    /// <summary>Attempts made so far.</summary>
    [Id(7)] public int Attempts { get; init; }
    /// <summary>HTTP status of the last answer; null when none came (or no attempt yet).</summary>
    [Id(8)] public int? LastStatusCode { get; init; }
    /// <summary>Why the last attempt failed; null after a success or before any attempt.</summary>
    [Id(9)] public string? LastError { get; init; }
    /// <summary>When the subject ended (and the delivery was recorded).</summary>
    [Id(10)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>While pending: when the next attempt is due.</summary>
    [Id(11)] public DateTimeOffset? NextAttemptAt { get; init; }
    /// <summary>When it was delivered or given up.</summary>
    [Id(12)] public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>The subject's end time it reports: a later end of the same job (after a requeue) is a new delivery.</summary>
    [Id(13)] public DateTimeOffset SubjectFinishedAt { get; init; }
}

/// <summary>Which deliveries a listing returns, newest first.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WebhookDeliveryFilter")]
public sealed record WebhookDeliveryFilter
{
    /// <summary>Only in this state.</summary>
    [Id(0)] public WebhookDeliveryState? State { get; init; }
    /// <summary>Only for this job or workflow.</summary>
    [Id(1)] public Guid? SubjectId { get; init; }
    /// <summary>Only of this tenant.</summary>
    [Id(2)] public string? Tenant { get; init; }
    /// <summary>Only recorded before this time (the cursor: pass the last row's <see cref="WebhookDelivery.CreatedAt"/>).</summary>
    [Id(3)] public DateTimeOffset? Before { get; init; }
    /// <summary>At most this many, 1 to 1000.</summary>
    [Id(4)] public int Limit { get; init; } = 100;
}

/// <summary>The names and headers of webhook calls, shared by the silo that sends and the SDK and tests that read.</summary>
public static class WebhookHeaders
{
    /// <summary><c>t=UNIX_SECONDS,v1=HEX</c>: HMAC-SHA256 of "UNIX_SECONDS.BODY" with the webhook secret.</summary>
    public const string Signature = "X-Scheduler-Signature";
    /// <summary>The delivery id, the same on every retry of one delivery.</summary>
    public const string Delivery = "X-Scheduler-Delivery";
    /// <summary>The end reported, e.g. <c>job.succeeded</c>.</summary>
    public const string Event = "X-Scheduler-Event";
    /// <summary>The attempt number, from 1.</summary>
    public const string Attempt = "X-Scheduler-Attempt";

    /// <summary>The event name of an end: "job.succeeded", "workflow.failed"...</summary>
    public static string EventName(string subjectKind, WebhookEvent end) => $"{subjectKind}.{end.ToString().ToLowerInvariant()}";
}

/// <summary>The signature header of a webhook call: <c>t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))</c>.</summary>
public static class WebhookSignature
{
    /// <summary>The header value for <paramref name="body"/> sent at <paramref name="unixSeconds"/>.</summary>
    public static string Create(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var timestamp = unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signed = new byte[timestamp.Length + 1 + body.Length];
        System.Text.Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed.AsSpan(timestamp.Length + 1));
        var mac = System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), signed);
        return $"t={timestamp},v1={Convert.ToHexStringLower(mac)}";
    }
}
