using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>
/// One webhook delivery (keyed by its id): its record, its attempts and its wake-ups (a timer for the next attempt, a
/// reminder as the backstop when its silo dies). The HTTP call itself runs off the grain's turn.
/// </summary>
[Alias("scheduler.IWebhookGrain")]
public interface IWebhookGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records the delivery as pending (nothing when it exists) and arms its reminder; does not send yet. Called by
    /// the job or workflow before it stores its end, so an end once stored always has its delivery.
    /// </summary>
    [Alias("Record")]
    Task Record(WebhookDelivery delivery);

    /// <summary>The subject's end is stored: send now.</summary>
    [Alias("Ready"), OneWay]
    Task Ready();

    /// <summary>The outcome of attempt <paramref name="attempt"/>, from the sender (ignored when stale).</summary>
    [Alias("Report")]
    Task Report(int attempt, int? statusCode, string? error, bool notReady);
}

/// <summary>Reads webhook delivery records; a stateless worker over the shared table.</summary>
[Alias("scheduler.IWebhookDeliveriesGrain")]
public interface IWebhookDeliveriesGrain : IGrainWithIntegerKey
{
    /// <summary>Deliveries matching the filter, newest first.</summary>
    [Alias("List"), ReadOnly]
    Task<ImmutableArray<WebhookDelivery>> List(WebhookDeliveryFilter filter);

    /// <summary>One delivery; null when there is none.</summary>
    [Alias("Get"), ReadOnly]
    Task<WebhookDelivery?> Get(string id);
}
