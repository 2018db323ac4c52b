namespace Scheduler.Client;

public partial interface ISchedulerClient
{
    /// <summary>Webhook deliveries matching <paramref name="filter"/>, newest first (docs/webhooks.md).</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListWebhookDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default);

    /// <summary>One webhook delivery by its id (the <c>X-Scheduler-Delivery</c> header); null when there is none.</summary>
    Task<WebhookDelivery?> GetWebhookDeliveryAsync(string id, CancellationToken cancellationToken = default);
}
