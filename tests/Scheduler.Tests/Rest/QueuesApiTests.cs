using System.Net;
using System.Text.Json;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>GET /queues: each queue's waiting and taken jobs by priority and tenant, as the dashboard's Queues page shows them.</summary>
[Collection(RestApiCollection.Name)]
public sealed class QueuesApiTests(RestApiFixture fixture)
{
    private static JobRequest Work(string tenant, string queue, int priority, int sleepMs = 0) => new()
    {
        Handler = WorkHandler.Name,
        Tenant = tenant,
        Queue = queue,
        Priority = priority,
        Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new WorkPayload(SleepMs: sleepMs))],
    };

    private static JsonElement? Tenant(JsonElement queue, string tenant) =>
        queue.GetProperty("tenants").EnumerateArray().Where(t => t.GetProperty("tenant").GetString() == tenant).Select(t => (JsonElement?)t).FirstOrDefault();

    [Fact]
    public async Task Queues_ShowWaitingAndTakenJobsPerTenant_WithWeightsSharesAndTheOldestWait()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = cts.Token;
        var run = Guid.NewGuid().ToString("N")[..6];
        // The fixture weighs qa-gold 3; the silo has 4 slots, which the held jobs fill, so the others wait in "other".
        string hold = "qa-hold-" + run, gold = "qa-gold", plain = "qa-plain-" + run;
        var held = await fixture.Sdk.SubmitManyAsync([.. Enumerable.Range(0, 4).Select(_ => Work(hold, "default", 50, sleepMs: 120_000))], ct);
        var submitted = DateTimeOffset.UtcNow;
        var waiting = await fixture.Sdk.SubmitManyAsync([Work(gold, "other", 70), Work(gold, "other", 70), Work(plain, "other", 40)], ct);
        using var viewer = fixture.As(ApiRole.Viewer);
        try
        {
            JsonElement body, other, def;
            while (true)
            {
                var response = await viewer.GetAsync("/api/v1/queues", ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                body = await response.ReadJsonAsync();
                other = body.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == "other");
                def = body.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == "default");
                if (Tenant(def, hold)?.GetProperty("taken").GetInt64() == 4 && Tenant(other, gold)?.GetProperty("waiting").GetInt64() == 2
                    && Tenant(other, plain)?.GetProperty("waiting").GetInt64() == 1)
                    break;
                await Task.Delay(100, ct);
            }

            Assert.True(body.GetProperty("fairShare").GetBoolean());
            var goldRow = Tenant(other, gold)!.Value;
            var plainRow = Tenant(other, plain)!.Value;
            Assert.Equal((3d, 1d), (goldRow.GetProperty("weight").GetDouble(), plainRow.GetProperty("weight").GetDouble()));
            // Shares go by weight among the tenants waiting now: gold starts three times as often as plain.
            Assert.Equal(3 * plainRow.GetProperty("share").GetDouble(), goldRow.GetProperty("share").GetDouble(), 6);
            Assert.Equal(0d, Tenant(def, hold)!.Value.GetProperty("share").GetDouble());
            var priorities = other.GetProperty("byPriority").EnumerateArray().ToDictionary(p => p.GetProperty("priority").GetInt32(), p => p.GetProperty("waiting").GetInt64());
            Assert.True(priorities[70] >= 2 && priorities[40] >= 1, other.GetRawText());
            var oldest = goldRow.GetProperty("oldestWaitingSince").GetDateTimeOffset();
            Assert.InRange(oldest, submitted.AddMinutes(-1), DateTimeOffset.UtcNow);
            Assert.True(other.GetProperty("oldestWaitingSince").GetDateTimeOffset() <= oldest);
            // Its jobs are all taken: none waits, so it has no oldest wait (the API leaves nulls out).
            Assert.False(Tenant(def, hold)!.Value.TryGetProperty("oldestWaitingSince", out _));
            Assert.Equal(0, other.GetProperty("shardsUnanswered").GetInt32());

            // It spans tenants: a tenant's key is refused, and no key at all is not let in.
            using var tenantKey = fixture.As(ApiRole.Operator, gold);
            Assert.Equal(HttpStatusCode.Forbidden, (await tenantKey.GetAsync("/api/v1/queues", ct)).StatusCode);
            using var anonymous = fixture.Anonymous();
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/queues", ct)).StatusCode);
        }
        finally
        {
            foreach (var job in held.Concat(waiting))
                await fixture.Sdk.CancelAsync(job.Id, "test over", CancellationToken.None);
        }
    }
}
