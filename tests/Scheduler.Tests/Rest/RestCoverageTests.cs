using System.Net;
using System.Text.Json;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>
/// The endpoints that give REST what the SDK has besides jobs, workflows, schedules and limits: gates, breakers,
/// priority changes, dead-letter purge by filter; and the audit log of actions made through the SDK.
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class RestCoverageTests(RestApiFixture fixture)
{
    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    private async Task<JsonElement> AuditAsync(CancellationToken ct)
    {
        using var admin = fixture.Admin();
        return (await (await admin.GetAsync("/api/v1/audit?limit=1000", ct)).ReadJsonAsync()).GetProperty("items");
    }

    private static IEnumerable<JsonElement> Entries(JsonElement audit, string action, string target) =>
        audit.EnumerateArray().Where(e => e.GetProperty("action").GetString() == action && e.GetProperty("target").GetString() == target);

    [Fact]
    public async Task Gate_PausesHoldsDropsAndResumes_AndEachActionIsAudited()
    {
        var ct = Bounded();
        var tenant = "gated-" + Guid.NewGuid().ToString("N")[..8];
        var target = $"tenant:{tenant}";
        using var http = fixture.As(ApiRole.Operator);

        var paused = await http.PostJsonAsync($"/api/v1/gates/{target}/pause", new { reason = "maintenance" });
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.True((await paused.ReadJsonAsync()).GetProperty("paused").GetBoolean());
        var job = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Tenant = tenant }], ct))[0].Id;
        while (!(await (await http.GetAsync("/api/v1/gates", ct)).ReadJsonAsync()).EnumerateArray()
            .Any(g => g.GetProperty("target").GetString() == target && g.GetProperty("held").GetInt32() == 1))
            await Task.Delay(50, ct);

        var dropped = await http.PostJsonAsync($"/api/v1/gates/{target}/drop", new { reason = "not needed" });
        Assert.Equal(1, (await dropped.ReadJsonAsync()).GetProperty("dropped").GetInt64());
        Assert.Equal(JobState.Cancelled, (await fixture.Sdk.GetStatusAsync(job, ct))!.State);
        var resumed = await http.PostAsync($"/api/v1/gates/{target}/resume", null, ct);
        Assert.False((await resumed.ReadJsonAsync()).GetProperty("paused").GetBoolean());
        var bad = await http.PostAsync("/api/v1/gates/planet:mars/pause", null, ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not handler, queue, tenant or workflow", (await bad.ReadJsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var audit = await AuditAsync(ct);
        foreach (var action in new[] { "gate.pause", "gate.drop", "gate.resume" })
        {
            var entry = Assert.Single(Entries(audit, action, target));
            Assert.Contains("(operator-all)", entry.GetProperty("actor").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Breakers_AreListedReadAndReset_WithProblemsForUnknownOnes()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Operator);

        Assert.Equal(JsonValueKind.Array, (await (await http.GetAsync("/api/v1/breakers", ct)).ReadJsonAsync()).ValueKind);
        var one = await (await http.GetAsync($"/api/v1/breakers/handler:{WorkHandler.Name}", ct)).ReadJsonAsync();
        Assert.Equal(("closed", $"handler:{WorkHandler.Name}"), (one.GetProperty("state").GetString(), one.GetProperty("target").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v1/breakers/planet:mars", ct)).StatusCode);
        var reset = await http.PostAsync($"/api/v1/breakers/handler:{WorkHandler.Name}/reset", null, ct);
        Assert.Equal(HttpStatusCode.BadRequest, reset.StatusCode);
        Assert.Contains("no breaker is configured", (await reset.ReadJsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Priority_ChangesAWaitingJobAndWorkflow_AndRefusesAnEndedJob()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Operator);
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var job = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, NotBefore = later }], ct))[0].Id;

        var changed = await http.PostJsonAsync($"/api/v1/jobs/{job}/priority", new { priority = 90 });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(90, (await fixture.Sdk.GetStatusAsync(job, ct))!.Priority);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostJsonAsync($"/api/v1/jobs/{job}/priority", new { priority = 1000 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostJsonAsync($"/api/v1/jobs/{job}/priority", new { })).StatusCode);
        await fixture.Sdk.CancelAsync(job, cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostJsonAsync($"/api/v1/jobs/{job}/priority", new { priority = 10 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostJsonAsync($"/api/v1/jobs/{Guid.NewGuid()}/priority", new { priority = 10 })).StatusCode);

        var workflow = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition { NotBefore = later, Jobs = [new WorkflowJob { Name = "a", Handler = WorkHandler.Name }] }, ct);
        var moved = await http.PostJsonAsync($"/api/v1/workflows/{workflow.Id}/priority", new { priority = 80 });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(80, (await fixture.Sdk.GetWorkflowAsync(workflow.Id, ct))!.Priority);

        var audit = await AuditAsync(ct);
        Assert.Single(Entries(audit, "job.priority", job.ToString()));
        Assert.Single(Entries(audit, "workflow.priority", workflow.Id.ToString()));
    }

    [Fact]
    public async Task PurgeMatching_PurgesTheFilteredDeadLetters_OnlyWithinTheCallersTenant()
    {
        var ct = Bounded();
        var tenant = "purged-" + Guid.NewGuid().ToString("N")[..8];
        var failing = new JobRequest
        {
            Handler = WorkHandler.Name,
            Tenant = tenant,
            Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new WorkPayload(Outcome: "fatal"))],
        };
        var ids = (await fixture.Sdk.SubmitManyAsync([failing, failing with { Id = JobId.New() }], ct)).Select(r => r.Id).ToList();
        foreach (var id in ids)
            Assert.Equal(JobState.Failed, (await fixture.Sdk.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), ct))!.State);

        using var stranger = fixture.As(ApiRole.Operator, "stranger");
        var refused = await (await stranger.PostJsonAsync("/api/v1/deadletters/purge-matching", new { tenant })).ReadJsonAsync();
        Assert.Equal(0, refused.GetProperty("purged").GetInt64());
        using var http = fixture.As(ApiRole.Operator);
        var purged = await (await http.PostJsonAsync("/api/v1/deadletters/purge-matching", new { tenant })).ReadJsonAsync();
        Assert.Equal(2, purged.GetProperty("purged").GetInt64());
        foreach (var id in ids)
            Assert.Null(await fixture.Sdk.GetStatusAsync(id, ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostJsonAsync("/api/v1/deadletters/purge-matching", new { tenant = "bad name!" })).StatusCode);
    }

    [Fact]
    public async Task SdkControlActions_AreAuditedWithTheSdkActor_AndRestActionsOnlyOnce()
    {
        var ct = Bounded();
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var viaSdk = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, NotBefore = later }], ct))[0].Id;
        var viaRest = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, NotBefore = later }], ct))[0].Id;

        await fixture.Sdk.RescheduleAsync(viaSdk, later.AddHours(1), ct);
        await fixture.Sdk.CancelAsync(viaSdk, "by the sdk", ct);
        await fixture.Sdk.SetKeyLimitsAsync("audited-key", new KeySettings { Limit = 2 }, ct);
        using var http = fixture.As(ApiRole.Operator);
        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync($"/api/v1/jobs/{viaRest}/cancel", new { reason = "by rest" })).StatusCode);

        var audit = await AuditAsync(ct);
        var cancel = Assert.Single(Entries(audit, "job.cancel", viaSdk.ToString()));
        Assert.Equal(SchedulerClientOptions.DefaultAuditActor, cancel.GetProperty("actor").GetString());
        Assert.Contains("by the sdk", cancel.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Single(Entries(audit, "job.reschedule", viaSdk.ToString()));
        Assert.Single(Entries(audit, "limits.set", "audited-key"));
        var rest = Assert.Single(Entries(audit, "job.cancel", viaRest.ToString()));
        Assert.Contains("(operator-all)", rest.GetProperty("actor").GetString(), StringComparison.Ordinal);
    }
}
