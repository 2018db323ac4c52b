namespace Scheduler.Storage;

/// <summary>
/// Webhook delivery records (<c>scheduler_webhook_deliveries</c>). Every method returns only once its change is durable.
/// </summary>
public interface IWebhookStore
{
    /// <summary>Records a new delivery; false when one with its id exists already (nothing written).</summary>
    Task<bool> InsertDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default);

    /// <summary>Stores the delivery's progress (state, attempts, last answer, next attempt) over its row.</summary>
    Task UpdateDeliveryAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default);

    /// <summary>The delivery with this id; null when there is none.</summary>
    Task<WebhookDelivery?> ReadDeliveryAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deliveries matching the filter, newest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default);
}
