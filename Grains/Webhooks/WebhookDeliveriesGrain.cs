using System.Collections.Immutable;
using Orleans.Concurrency;
using Scheduler.Storage;

namespace Scheduler.Webhooks;

/// <summary>Reads delivery records over the shared <see cref="IWebhookStore"/>; holds no state of its own.</summary>
[StatelessWorker, Reentrant]
public sealed class WebhookDeliveriesGrain(IWebhookStore store) : Grain, IWebhookDeliveriesGrain
{
    private const int MaxPage = 1000;

    public async Task<ImmutableArray<WebhookDelivery>> List(WebhookDeliveryFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Limit is < 1 or > MaxPage)
            throw new ArgumentOutOfRangeException(nameof(filter), filter.Limit, $"limit must be 1 to {MaxPage}");
        return [.. await store.ListDeliveriesAsync(filter)];
    }

    public Task<WebhookDelivery?> Get(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return store.ReadDeliveryAsync(id);
    }
}
