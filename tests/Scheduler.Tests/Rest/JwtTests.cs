using System.Net;
using System.Net.Http.Headers;
using Microsoft.IdentityModel.Tokens;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>JWT bearer tokens of a configured issuer: role and tenant from claims; forged, expired or role-less tokens are 401.</summary>
[Collection(RestApiCollection.Name)]
public sealed class JwtTests(RestApiFixture fixture)
{
    private HttpClient With(string token)
    {
        var client = fixture.Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task Token_CarriesRoleAndTenant_LikeAKey()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var other = await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Tenant = "jwt-other", NotBefore = DateTimeOffset.UtcNow.AddHours(1) }], cts.Token);
        using var http = With(fixture.Jwt(new Dictionary<string, object> { ["sub"] = "alice", ["scheduler_role"] = "operator", ["scheduler_tenant"] = "jwt-acme" }));

        var created = await http.PostJsonAsync("/api/v1/jobs", RestJson.Work(notBefore: DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.ReadJsonAsync()).GetProperty("id").GetString();
        Assert.Equal("jwt-acme", (await (await http.GetAsync($"/api/v1/jobs/{id}", cts.Token)).ReadJsonAsync()).GetProperty("tenant").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/v1/jobs/{id}/cancel", null, cts.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/jobs/{other[0].Id}", cts.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/api/v1/stats", cts.Token)).StatusCode);

        var audit = await fixture.Sdk.ListAuditAsync(limit: 50, cancellationToken: cts.Token);
        Assert.Contains(audit, e => e.Action == "job.cancel" && e.Target == id && e.Actor == "jwt:alice" && e.Tenant == "jwt-acme");
    }

    [Fact]
    public async Task ForgedExpiredOrRolelessTokens_AreRefused()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var viewer = new Dictionary<string, object> { ["sub"] = "bob", ["scheduler_role"] = "viewer" };
        using (var ok = With(fixture.Jwt(viewer)))
            Assert.Equal(HttpStatusCode.OK, (await ok.GetAsync("/api/v1/stats", cts.Token)).StatusCode);

        var forgedKey = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        foreach (var token in new[]
        {
            fixture.Jwt(viewer, key: forgedKey),
            fixture.Jwt(viewer, expires: DateTime.UtcNow.AddMinutes(-10)),
            fixture.Jwt(new Dictionary<string, object> { ["sub"] = "carol" }),
            fixture.Jwt(new Dictionary<string, object> { ["sub"] = "dave", ["scheduler_role"] = "superuser" }),
        })
        {
            using var refused = With(token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await refused.GetAsync("/api/v1/stats", cts.Token)).StatusCode);
        }
    }
}
