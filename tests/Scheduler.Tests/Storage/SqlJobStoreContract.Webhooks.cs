using Scheduler.Storage;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Storage;

// Webhook delivery records (0012_webhooks.sql), on SQLite and PostgreSQL alike.
public abstract partial class SqlJobStoreContract
{
    [Fact]
    public async Task WebhookDeliveries_AreInsertedOnceUpdatedAndListedNewestFirst_PerService()
    {
        using var cts = Bounded.Timeout(60);
        var subject = Guid.NewGuid();
        var first = new WebhookDelivery
        {
            Id = $"job:{subject:N}:{T0.UtcTicks}",
            SubjectKind = "job",
            SubjectId = subject,
            Tenant = "acme",
            Event = "job.failed",
            Url = "https://hooks.example/done",
            CreatedAt = T0,
            NextAttemptAt = T0,
            SubjectFinishedAt = T0,
        };
        var second = first with { Id = $"job:{subject:N}:{T0.AddMinutes(1).UtcTicks}", Event = "job.succeeded", CreatedAt = T0.AddMinutes(1), SubjectFinishedAt = T0.AddMinutes(1) };

        Assert.True(await _store.InsertDeliveryAsync(first, cts.Token));
        Assert.False(await _store.InsertDeliveryAsync(first with { Url = "https://other.example/" }, cts.Token));
        Assert.True(await _store.InsertDeliveryAsync(second, cts.Token));
        var failed = first with { State = WebhookDeliveryState.Failed, Attempts = 3, LastStatusCode = 503, LastError = "HTTP 503", NextAttemptAt = null, FinishedAt = T0.AddSeconds(40) };
        await _store.UpdateDeliveryAsync(failed, cts.Token);

        Assert.Equal(failed, await _store.ReadDeliveryAsync(first.Id, cts.Token));
        Assert.Equal([second.Id, first.Id], (await _store.ListDeliveriesAsync(new WebhookDeliveryFilter { SubjectId = subject }, cts.Token)).Select(d => d.Id));
        Assert.Equal([first.Id], (await _store.ListDeliveriesAsync(new WebhookDeliveryFilter { State = WebhookDeliveryState.Failed, Tenant = "acme", SubjectId = subject }, cts.Token)).Select(d => d.Id));
        Assert.Equal([first.Id], (await _store.ListDeliveriesAsync(new WebhookDeliveryFilter { SubjectId = subject, Before = second.CreatedAt }, cts.Token)).Select(d => d.Id));
        Assert.Empty(await _store.ListDeliveriesAsync(new WebhookDeliveryFilter { SubjectId = subject, Tenant = "other" }, cts.Token));
        Assert.Null(await Store(ServiceB).ReadDeliveryAsync(first.Id, cts.Token));
    }
}
