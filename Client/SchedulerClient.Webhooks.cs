namespace Scheduler.Client;

internal sealed partial class SchedulerClient
{
    public Task<IReadOnlyList<WebhookDelivery>> ListWebhookDeliveriesAsync(WebhookDeliveryFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Limit is < 1 or > 1000)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"limit {filter.Limit} is out of range: use 1 to 1000");
        if (filter.State is { } state && !Enum.IsDefined(state))
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"delivery state {(int)state} does not exist: use pending, delivered or failed");
        return CallAsync<IReadOnlyList<WebhookDelivery>>(async g => await g.GetGrain<IWebhookDeliveriesGrain>(0).List(filter), cancellationToken);
    }

    public Task<WebhookDelivery?> GetWebhookDeliveryAsync(string id, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 100)
            throw new SchedulerException(SchedulerErrorCode.InvalidRequest, $"'{id}' is not a delivery id (as webhooks list shows)");
        return CallAsync(g => g.GetGrain<IWebhookDeliveriesGrain>(0).Get(id), cancellationToken);
    }
}
