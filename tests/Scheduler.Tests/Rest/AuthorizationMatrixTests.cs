using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>
/// Every endpoint, three ways: anonymous (401), a key of the role just below the one it needs (403), and a key of a
/// high enough role scoped to another tenant (404 for a job or workflow of tenant "owner"; 403 for what spans tenants
/// or for acting in the name of another tenant).
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class AuthorizationMatrixTests(RestApiFixture fixture)
{
    private enum Kind { Job, Workflow, Submit, Cluster, TenantFiltered, Admin }

    private sealed record Endpoint(string Method, string Path, string? Body, ApiRole Role, Kind Kind);

    private const string Owner = "owner";
    private const string Stranger = "stranger";

    private static IEnumerable<Endpoint> Endpoints(string job, string workflow)
    {
        var work = $$"""{"handler":"{{WorkHandler.Name}}","tenant":"{{Owner}}"}""";
        yield return new("GET", $"/api/v1/jobs/{job}", null, ApiRole.Viewer, Kind.Job);
        yield return new("GET", $"/api/v1/jobs/{job}/wait?timeout=0", null, ApiRole.Viewer, Kind.Job);
        yield return new("GET", $"/api/v1/jobs/{job}/history", null, ApiRole.Viewer, Kind.Job);
        yield return new("GET", $"/api/v1/jobs/{job}/logs", null, ApiRole.Viewer, Kind.Job);
        yield return new("GET", $"/api/v1/jobs/{job}/logs/stream", null, ApiRole.Viewer, Kind.Job);
        yield return new("POST", $"/api/v1/jobs/{job}/cancel", "{}", ApiRole.Operator, Kind.Job);
        yield return new("POST", $"/api/v1/jobs/{job}/reschedule", """{"notBefore":null}""", ApiRole.Operator, Kind.Job);
        yield return new("POST", $"/api/v1/jobs/{job}/requeue", "{}", ApiRole.Operator, Kind.Job);
        yield return new("POST", $"/api/v1/jobs/{job}/priority", """{"priority":60}""", ApiRole.Operator, Kind.Job);
        yield return new("GET", "/api/v1/me", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("POST", "/api/v1/jobs", work, ApiRole.Submitter, Kind.Submit);
        yield return new("POST", "/api/v1/jobs/batch", $$"""{"jobs":[{{work}}]}""", ApiRole.Submitter, Kind.Submit);
        yield return new("GET", "/api/v1/jobs", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("GET", $"/api/v1/workflows/{workflow}", null, ApiRole.Viewer, Kind.Workflow);
        yield return new("GET", $"/api/v1/workflows/{workflow}/wait?timeout=0", null, ApiRole.Viewer, Kind.Workflow);
        foreach (var action in new[] { "pause", "resume", "rerun-failed" })
            yield return new("POST", $"/api/v1/workflows/{workflow}/{action}", null, ApiRole.Operator, Kind.Workflow);
        yield return new("POST", $"/api/v1/workflows/{workflow}/cancel", "{}", ApiRole.Operator, Kind.Workflow);
        yield return new("POST", $"/api/v1/workflows/{workflow}/reschedule", """{"notBefore":null}""", ApiRole.Operator, Kind.Workflow);
        yield return new("POST", $"/api/v1/workflows/{workflow}/jobs", $$"""{"jobs":[{"name":"late","handler":"{{WorkHandler.Name}}"}]}""", ApiRole.Operator, Kind.Workflow);
        yield return new("POST", "/api/v1/workflows", $$"""{"tenant":"{{Owner}}","jobs":[{"name":"a","handler":"{{WorkHandler.Name}}"}]}""", ApiRole.Submitter, Kind.Submit);
        yield return new("GET", "/api/v1/schedules", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/schedules/matrix", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("POST", "/api/v1/schedules", $$$"""{"id":"matrix","job":{"handler":"{{{WorkHandler.Name}}}"},"trigger":{"cron":"0 3 * * *"}}""", ApiRole.Operator, Kind.Cluster);
        foreach (var action in new[] { "pause", "resume", "trigger" })
            yield return new("POST", $"/api/v1/schedules/matrix/{action}", null, ApiRole.Operator, Kind.Cluster);
        yield return new("POST", "/api/v1/schedules/matrix/backfill", """{"from":"2020-01-01T00:00:00Z","to":"2020-01-02T00:00:00Z"}""", ApiRole.Operator, Kind.Cluster);
        yield return new("DELETE", "/api/v1/schedules/matrix", null, ApiRole.Operator, Kind.Cluster);
        yield return new("GET", "/api/v1/limits/keys", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/limits/keys/matrix", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("PUT", "/api/v1/limits/keys/matrix", """{"limit":2}""", ApiRole.Operator, Kind.Cluster);
        yield return new("GET", "/api/v1/limits/scopes/cluster", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/stats", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/silos", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/workflows", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("GET", "/api/v1/queues", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/deadletters", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("POST", "/api/v1/deadletters/requeue", $$"""{"ids":["{{job}}"]}""", ApiRole.Operator, Kind.Job);
        yield return new("POST", "/api/v1/deadletters/purge", $$"""{"ids":["{{job}}"]}""", ApiRole.Operator, Kind.Job);
        yield return new("POST", "/api/v1/deadletters/purge-matching", """{"queue":"matrix"}""", ApiRole.Operator, Kind.TenantFiltered);
        yield return new("POST", $"/api/v1/jobs/{job}/priority", """{"priority":10}""", ApiRole.Operator, Kind.Job);
        yield return new("POST", $"/api/v1/workflows/{workflow}/priority", """{"priority":10}""", ApiRole.Operator, Kind.Workflow);
        yield return new("GET", "/api/v1/gates", null, ApiRole.Viewer, Kind.Cluster);
        foreach (var action in new[] { "pause", "resume", "drop" })
            yield return new("POST", $"/api/v1/gates/queue:matrix/{action}", null, ApiRole.Operator, Kind.Cluster);
        yield return new("GET", "/api/v1/breakers", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("GET", "/api/v1/breakers/handler:matrix", null, ApiRole.Viewer, Kind.Cluster);
        yield return new("POST", "/api/v1/breakers/handler:matrix/reset", null, ApiRole.Operator, Kind.Cluster);
        yield return new("GET", "/api/v1/webhooks/deliveries", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("GET", $"/api/v1/webhooks/deliveries/job:{job}:0", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("GET", "/api/v1/audit", null, ApiRole.Admin, Kind.Admin);
        yield return new("GET", "/api/v1/keys", null, ApiRole.Admin, Kind.Admin);
        yield return new("POST", "/api/v1/keys", """{"name":"matrix","role":"viewer"}""", ApiRole.Admin, Kind.Admin);
        yield return new("DELETE", "/api/v1/keys/000000000000", null, ApiRole.Admin, Kind.Admin);
        yield return new("GET", "/openapi/scheduler.json", null, ApiRole.Viewer, Kind.TenantFiltered);
        yield return new("GET", "/dashboard", null, ApiRole.Viewer, Kind.TenantFiltered);
    }

    [Fact]
    public async Task EveryEndpoint_RefusesAnonymousWrongRoleAndOtherTenant()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var owner = await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Tenant = Owner, NotBefore = DateTimeOffset.UtcNow.AddHours(1) }], cts.Token);
        var workflow = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Tenant = Owner,
            NotBefore = DateTimeOffset.UtcNow.AddHours(1),
            Jobs = [new WorkflowJob { Name = "a", Handler = WorkHandler.Name }],
        }, cts.Token);
        var failures = new List<string>();

        foreach (var endpoint in Endpoints(owner[0].Id.ToString(), workflow.Id.ToString()))
        {
            using (var anonymous = fixture.Anonymous())
                await Expect(anonymous, endpoint, HttpStatusCode.Unauthorized, "anonymous");
            if (endpoint.Role > ApiRole.Viewer)
            {
                using var below = fixture.As(endpoint.Role - 1);
                await Expect(below, endpoint, HttpStatusCode.Forbidden, $"role {endpoint.Role - 1}");
            }
            var expected = endpoint.Kind switch
            {
                Kind.Job or Kind.Workflow => HttpStatusCode.NotFound,
                Kind.Submit or Kind.Cluster => HttpStatusCode.Forbidden,
                _ => (HttpStatusCode?)null,
            };
            if (expected is { } status)
            {
                using var stranger = fixture.As(ApiRole.Operator, Stranger);
                await Expect(stranger, endpoint, status, $"operator of tenant {Stranger}");
            }
        }

        // Nothing the refused callers sent changed the owner's job or workflow.
        Assert.Equal(JobState.Queued, (await fixture.Sdk.GetStatusAsync(owner[0].Id, cts.Token))!.State);
        Assert.Single((await fixture.Sdk.GetWorkflowAsync(workflow.Id, cts.Token))!.Jobs);
        Assert.Empty(failures);

        async Task Expect(HttpClient client, Endpoint endpoint, HttpStatusCode expected, string who)
        {
            using var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Path);
            if (endpoint.Body is not null)
                request.Content = new StringContent(endpoint.Body, Encoding.UTF8, "application/json");
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            if (response.StatusCode != expected)
                failures.Add($"{endpoint.Method} {endpoint.Path} as {who}: {(int)response.StatusCode}, expected {(int)expected}");
        }
    }

    [Fact]
    public async Task TenantScopedKey_ListsOnlyItsTenant_AndSubmitsIntoIt()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Tenant = Owner, NotBefore = DateTimeOffset.UtcNow.AddHours(1) }], cts.Token);
        using var stranger = fixture.As(ApiRole.Submitter, Stranger);

        var created = await stranger.PostJsonAsync("/api/v1/jobs", new { handler = WorkHandler.Name, notBefore = DateTimeOffset.UtcNow.AddHours(1) });
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        Assert.Equal(Stranger, (await fixture.Sdk.GetStatusAsync(new JobId(Guid.Parse(id!)), cts.Token))!.Tenant);

        var all = await (await stranger.GetAsync("/api/v1/jobs?limit=1000", cts.Token)).ReadJsonAsync();
        Assert.All(all.GetProperty("items").EnumerateArray(), j => Assert.Equal(Stranger, j.GetProperty("tenant").GetString()));
        var owners = await (await stranger.GetAsync($"/api/v1/jobs?tenant={Owner}", cts.Token)).ReadJsonAsync();
        Assert.Empty(owners.GetProperty("items").EnumerateArray());
    }

    /// <summary>
    /// The API as its own process (an Orleans client of the silo's gateway, as Api/Program.cs builds it), with loopback
    /// trusted: a local caller without a key is an admin; a forwarded request is not local.
    /// </summary>
    [Fact]
    public async Task ApiProcess_ServesTheClusterAsAClient_AndTrustsOnlyPlainLoopback()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var url = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = url,
            ["Scheduler:Client:Gateways:0"] = $"127.0.0.1:{fixture.GatewayPort}",
            ["Scheduler:Client:ClusterId"] = fixture.ClusterId,
            ["Scheduler:Client:ServiceId"] = fixture.ClusterId,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSchedulerClient(builder.Configuration);
        builder.Services.AddSchedulerRestApi(builder.Configuration);
        await using var app = builder.Build();
        app.UseSchedulerRestApi();
        app.MapSchedulerRestApi();
        await app.StartAsync(cts.Token);
        try
        {
            using var local = new HttpClient { BaseAddress = new Uri(url) };
            var created = await local.PostJsonAsync("/api/v1/jobs", RestJson.Work(tag: "api-process"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
            var done = await (await local.GetAsync($"/api/v1/jobs/{id}/wait?timeout=60", cts.Token)).ReadJsonAsync();
            Assert.Equal("succeeded", done.GetProperty("state").GetString());

            using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stats");
            forwarded.Headers.Add("X-Forwarded-For", "203.0.113.7");
            Assert.Equal(HttpStatusCode.Unauthorized, (await local.SendAsync(forwarded, cts.Token)).StatusCode);
            using var badKey = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stats");
            badKey.Headers.Add("X-Api-Key", "sch_000000000000_wrong-secret-of-some-length");
            Assert.Equal(HttpStatusCode.Unauthorized, (await local.SendAsync(badKey, cts.Token)).StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
