using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Rest;

namespace Scheduler.Tests.Dashboard;

/// <summary>
/// The dashboard's files and what it asks of the API, over plain HTTP on the REST fixture's silo (loopback trust off,
/// so requests without a key are treated as from beyond loopback).
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed partial class DashboardServingTests(RestApiFixture fixture)
{
    [GeneratedRegex(@"src=""(/assets/[^""]+\.js)""")]
    private static partial Regex ScriptPattern();

    [Fact]
    public async Task Root_ServesThePageAndItsBundle_WithoutAKey_WhileTheDataNeedsOne()
    {
        using var anonymous = fixture.Anonymous();
        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", page.Headers.CacheControl?.ToString());
        var html = await page.Content.ReadAsStringAsync();
        var script = ScriptPattern().Match(html);
        Assert.True(script.Success, "index.html names its bundle: " + html);

        var bundle = await anonymous.GetAsync(script.Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        Assert.Equal("text/javascript", bundle.Content.Headers.ContentType?.MediaType);
        Assert.Contains("immutable", bundle.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/dashboard")).StatusCode);
        // An unknown API path stays a problem document, not the dashboard's page.
        var unknown = await fixture.Admin().GetAsync("/api/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.NotEqual("text/html", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Me_SaysTheCallersRoleAndTenant()
    {
        var me = await fixture.As(ApiRole.Viewer, "acme").GetFromJsonAsync<CallerInfo>("/api/v1/me", RestJson.Options);
        Assert.Equal(ApiRole.Viewer, me!.Role);
        Assert.Equal("acme", me.Tenant);
        Assert.StartsWith("key:", me.Actor, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Priority_OfAQueuedJob_ChangesThroughTheApi_AndARunningOrMissingOneIsRefused()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var later = (await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, NotBefore = DateTimeOffset.UtcNow.AddHours(1) }], cts.Token))[0].Id;
        var operatorClient = fixture.As(ApiRole.Operator);
        var changed = await operatorClient.PostJsonAsync($"/api/v1/jobs/{later}/priority", new { priority = 80 });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(80, (await fixture.Sdk.GetStatusAsync(later, cts.Token))!.Priority);

        Assert.Equal(HttpStatusCode.BadRequest, (await operatorClient.PostJsonAsync($"/api/v1/jobs/{later}/priority", new { priority = 101 })).StatusCode);
        Assert.Equal(80, (await fixture.Sdk.GetStatusAsync(later, cts.Token))!.Priority);
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.PostJsonAsync($"/api/v1/jobs/{Guid.NewGuid()}/priority", new { priority = 10 })).StatusCode);
        await fixture.Sdk.CancelAsync(later, cancellationToken: cts.Token);
        Assert.Equal(HttpStatusCode.Conflict, (await operatorClient.PostJsonAsync($"/api/v1/jobs/{later}/priority", new { priority = 10 })).StatusCode);
    }
}
