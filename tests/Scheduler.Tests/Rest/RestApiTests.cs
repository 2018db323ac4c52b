using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>The REST API against a real silo: what a PHP or curl user would do, through a key of each role.</summary>
[Collection(RestApiCollection.Name)]
public sealed class RestApiTests(RestApiFixture fixture)
{
    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task SubmitThenWait_RunsTheJob_AndShowsItsHistoryAndLog()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Submitter);

        var submitted = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(tag: "rest-basic"));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString();
        Assert.Equal($"/api/v1/jobs/{id}", submitted.Headers.Location?.ToString());

        var waited = await (await http.GetAsync($"/api/v1/jobs/{id}/wait?timeout=60", ct)).ReadJsonAsync();
        Assert.Equal("succeeded", waited.GetProperty("state").GetString());

        var history = await (await http.GetAsync($"/api/v1/jobs/{id}/history", ct)).ReadJsonAsync();
        Assert.Contains(history.EnumerateArray(), t => t.GetProperty("state").GetString() == "running");
        var logs = await (await http.GetAsync($"/api/v1/jobs/{id}/logs", ct)).ReadJsonAsync();
        Assert.Contains(logs.GetProperty("lines").EnumerateArray(), l => l.GetProperty("text").GetString() == "work rest-basic attempt 1");
    }

    [Fact]
    public async Task Submit_Invalid_Is400ProblemWithTheSdksMessage_AndStoresNothing()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Submitter);
        var tenant = "bad-" + Guid.NewGuid().ToString("N")[..8];

        var response = await http.PostJsonAsync("/api/v1/jobs", new { handler = WorkHandler.Name, priority = 101, tenant });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var sdkMessage = RequestValidation.Check(new JobRequest { Handler = WorkHandler.Name, Priority = 101, Tenant = tenant }, JobRequest.DefaultMaxPayloadBytes)!.Value.Message;
        Assert.Equal(sdkMessage, problem.GetProperty("detail").GetString());

        var unknown = await http.PostJsonAsync("/api/v1/jobs", new { handler = "no.such.handler", tenant });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("UnknownHandler", (await unknown.ReadJsonAsync()).GetProperty("code").GetString());

        // A batch with one bad job is refused whole.
        var batch = await http.PostJsonAsync("/api/v1/jobs/batch", new { jobs = new object[] { RestJson.Work(tenant), RestJson.Work(tenant), new { handler = "bad name!", tenant } } });
        Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
        Assert.Contains("#2", (await batch.ReadJsonAsync()).GetProperty("detail").GetString());

        var listed = await (await http.GetAsync($"/api/v1/jobs?tenant={tenant}", ct)).ReadJsonAsync();
        Assert.Empty(listed.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task List_PagesThroughEveryJobOnce_WithTheCursor()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Submitter);
        var tenant = "page-" + Guid.NewGuid().ToString("N")[..8];
        var batch = await http.PostJsonAsync("/api/v1/jobs/batch",
            new { jobs = Enumerable.Range(0, 25).Select(_ => RestJson.Work(tenant, notBefore: DateTimeOffset.UtcNow.AddHours(1))).ToArray() });
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var submitted = (await batch.ReadJsonAsync()).EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToHashSet();
        Assert.Equal(25, submitted.Count);

        var seen = new List<string?>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await http.GetAsync($"/api/v1/jobs?tenant={tenant}&limit=10" + (cursor is null ? "" : $"&cursor={cursor}"), ct)).ReadJsonAsync();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
            pages++;
        } while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(25, seen.Count);
        Assert.True(submitted.SetEquals(seen));

        var bad = await http.GetAsync($"/api/v1/jobs?cursor=not-a-cursor", ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Cancel_IsAudited_AndASecondCancelIsAConflict()
    {
        var ct = Bounded();
        using var submitter = fixture.As(ApiRole.Submitter);
        using var operatorClient = fixture.As(ApiRole.Operator);
        var created = await submitter.PostJsonAsync("/api/v1/jobs", RestJson.Work(notBefore: DateTimeOffset.UtcNow.AddHours(1)));
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();

        var cancel = await operatorClient.PostJsonAsync($"/api/v1/jobs/{id}/cancel", new { reason = "not wanted" });
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.ReadJsonAsync()).GetProperty("outcome").GetString());
        var again = await operatorClient.PostAsync($"/api/v1/jobs/{id}/cancel", null, ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);

        var status = await (await submitter.GetAsync($"/api/v1/jobs/{id}", ct)).ReadJsonAsync();
        Assert.Equal("cancelled", status.GetProperty("state").GetString());
        Assert.Contains("not wanted", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);

        using var admin = fixture.Admin();
        var audit = await (await admin.GetAsync("/api/v1/audit?limit=100", ct)).ReadJsonAsync();
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "job.cancel" && e.GetProperty("target").GetString() == id
            && e.GetProperty("actor").GetString()!.Contains("(operator-all)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RescheduleAndRequeue_AnswerByTheJobsState()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Operator);
        var created = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(notBefore: DateTimeOffset.UtcNow.AddHours(1)));
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();

        var later = DateTimeOffset.UtcNow.AddHours(2);
        var moved = await http.PostJsonAsync($"/api/v1/jobs/{id}/reschedule", new { notBefore = later });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        var status = await (await http.GetAsync($"/api/v1/jobs/{id}", ct)).ReadJsonAsync();
        Assert.Equal(later.UtcDateTime, status.GetProperty("nextAttemptAt").GetDateTimeOffset().UtcDateTime, TimeSpan.FromSeconds(1));

        var requeue = await http.PostAsync($"/api/v1/jobs/{id}/requeue", null, ct);
        Assert.Equal(HttpStatusCode.Conflict, requeue.StatusCode);

        var missing = await http.GetAsync($"/api/v1/jobs/{Guid.NewGuid()}", ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        await http.PostAsync($"/api/v1/jobs/{id}/cancel", null, ct);
    }

    [Fact]
    public async Task DeadLetters_ListRequeueAndPurge()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Operator);
        var tenant = "dl-" + Guid.NewGuid().ToString("N")[..8];
        var created = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(tenant, outcome: "fatal"));
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        var final = await (await http.GetAsync($"/api/v1/jobs/{id}/wait?timeout=60", ct)).ReadJsonAsync();
        Assert.Equal("failed", final.GetProperty("state").GetString());

        var listed = await (await http.GetAsync($"/api/v1/deadletters?tenant={tenant}", ct)).ReadJsonAsync();
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());

        var requeued = await http.PostJsonAsync($"/api/v1/jobs/{id}/requeue", new { attempts = 1 });
        Assert.Equal(HttpStatusCode.OK, requeued.StatusCode);
        await (await http.GetAsync($"/api/v1/jobs/{id}/wait?timeout=60", ct)).ReadJsonAsync();

        var purged = await http.PostJsonAsync("/api/v1/deadletters/purge", new { ids = new[] { id } });
        Assert.Equal("purged", Assert.Single((await purged.ReadJsonAsync()).EnumerateArray()).GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/jobs/{id}", ct)).StatusCode);
    }

    [Fact]
    public async Task LogStream_SendsTheLinesThenTheEnd()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Submitter);
        var created = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(tag: "sse", sleepMs: 300));
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();

        using var response = await http.GetAsync($"/api/v1/jobs/{id}/logs/stream", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<(string Event, string Data)>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync(ct)).EnumerateAsync(ct))
            events.Add((item.EventType, item.Data));

        Assert.Contains(events, e => e.Event == "log" && e.Data.Contains("work sse attempt 1", StringComparison.Ordinal));
        Assert.Equal("end", events[^1].Event);
        Assert.Equal("succeeded", JsonDocument.Parse(events[^1].Data).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Workflow_SubmittedOverRest_RunsToTheEnd()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Submitter);
        var workflow = new
        {
            name = "rest-flow",
            jobs = new object[]
            {
                new { name = "a", handler = WorkHandler.Name },
                new { name = "b", handler = WorkHandler.Name, dependsOn = new[] { new { job = "a" } } },
            },
        };
        var created = await http.PostJsonAsync("/api/v1/workflows", workflow);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        var done = await (await http.GetAsync($"/api/v1/workflows/{id}/wait?timeout=60", ct)).ReadJsonAsync();
        Assert.Equal("succeeded", done.GetProperty("state").GetString());
    }

    [Fact]
    public async Task SchedulesLimitsAndStats_WorkForAnOperator()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Operator);
        var scheduleId = "rest-" + Guid.NewGuid().ToString("N")[..8];
        var created = await http.PostJsonAsync("/api/v1/schedules", new
        {
            id = scheduleId,
            job = new { handler = WorkHandler.Name },
            trigger = new { cron = "0 3 * * *" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var described = await (await http.GetAsync($"/api/v1/schedules/{scheduleId}?next=2", ct)).ReadJsonAsync();
        Assert.Equal(2, described.GetProperty("nextOccurrences").GetArrayLength());
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/v1/schedules/{scheduleId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/schedules/{scheduleId}", ct)).StatusCode);

        var set = await http.PutAsJsonAsync("/api/v1/limits/keys/rest-key", new { limit = 3 }, RestJson.Options, ct);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var bad = await http.PutAsJsonAsync("/api/v1/limits/keys/rest-key", new { limit = -1 }, RestJson.Options, ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var stats = await (await http.GetAsync("/api/v1/stats", ct)).ReadJsonAsync();
        Assert.True(stats.GetProperty("byState").EnumerateObject().Any());
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheEndpoints_AndDocsAreServed()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Viewer);
        var document = await (await http.GetAsync("/openapi/scheduler.json", ct)).ReadJsonAsync();
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/v1/jobs", paths);
        Assert.Contains("/api/v1/jobs/{id}/logs/stream", paths);
        Assert.Contains("/api/v1/workflows", paths);
        foreach (var path in new[] { "/api/v1/gates", "/api/v1/gates/{target}/pause", "/api/v1/breakers/{target}/reset", "/api/v1/jobs/{id}/priority",
            "/api/v1/workflows/{id}/priority", "/api/v1/deadletters/purge-matching", "/api/v1/webhooks/deliveries", "/api/v1/webhooks/deliveries/{id}" })
            Assert.Contains(path, paths);
        // "/docs/" itself: HttpClient drops the Authorization header when it follows the redirect from "/docs".
        var docs = await http.GetAsync("/docs/", ct);
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("text/html", docs.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);

        using var anonymous = fixture.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/openapi/scheduler.json", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health", ct)).StatusCode);
    }

    [Fact]
    public async Task RevokedKey_IsRefused()
    {
        var ct = Bounded();
        var key = await fixture.CreateKeyAsync(new ApiKeyRequest { Name = "short-lived", Role = ApiRole.Viewer });
        using var http = fixture.Anonymous();
        http.DefaultRequestHeaders.Add("X-Api-Key", key.Token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/stats", ct)).StatusCode);

        using var admin = fixture.Admin();
        var listed = await (await admin.GetAsync("/api/v1/keys", ct)).ReadJsonAsync();
        Assert.Contains(listed.EnumerateArray(), k => k.GetProperty("id").GetString() == key.Key.Id);
        Assert.DoesNotContain(key.Token, listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{key.Key.Id}", ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/stats", ct)).StatusCode);
        var forged = fixture.Anonymous();
        forged.DefaultRequestHeaders.Add("X-Api-Key", key.Token[..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/stats", ct)).StatusCode);
    }
}
