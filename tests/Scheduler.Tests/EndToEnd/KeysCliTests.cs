using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Scheduler.Cli;

namespace Scheduler.Tests.EndToEnd;

/// <summary><c>scheduler keys create|list|revoke</c> against a real silo host, and the key used on its REST API.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class KeysCliTests(SiloHostFixture fixture)
{
    private SiloSettings Silo => fixture.Settings;

    [Fact]
    public async Task KeysCreate_PrintsATokenTheRestApiTakes_ListShowsIt_AndRevokeMarksIt()
    {
        using var cts = EndToEnd.Timeout(90);
        var created = await EndToEnd.CliAsync(Silo, cts.Token, "keys", "create", "php-frontend", "--role", "submitter", "--tenant", "acme");
        Assert.True(created.ExitCode == ExitCodes.Ok, created.ToString());
        var token = Regex.Match(created.Out, @"token \(shown only now\): (sch_\S+)").Groups[1].Value;
        var id = Regex.Match(created.Out, @"^key ([0-9a-f]{12}) \(php-frontend\): role submitter, tenant acme", RegexOptions.Multiline).Groups[1].Value;
        Assert.NotEmpty(id);

        // The silo's port is loopback, but a caller sending a key is judged by the key.
        using var http = new HttpClient { BaseAddress = new Uri(Silo.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var submitted = await http.PostAsync("/api/v1/jobs",
            new StringContent("""{"handler":"command","payload":{"executable":"/bin/true"},"notBefore":"2030-01-01T00:00:00Z"}""", Encoding.UTF8, "application/json"), cts.Token);
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        Assert.Contains("\"tenant\":\"acme\"", await (await http.GetAsync(submitted.Headers.Location, cts.Token)).Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/api/v1/stats", cts.Token)).StatusCode);

        var list = await EndToEnd.CliAsync(Silo, cts.Token, "keys", "list");
        Assert.Matches($@"(?m)^{id}\s+php-frontend\s+submitter\s+acme\s+\S+\s+\S+\s+-\s*$", list.Out);
        Assert.DoesNotContain(token, list.Out, StringComparison.Ordinal);

        Assert.Equal(ExitCodes.Ok, (await EndToEnd.CliAsync(Silo, cts.Token, "keys", "revoke", id)).ExitCode);
        Assert.DoesNotMatch($@"(?m)^{id}\s+.*\s-\s*$", (await EndToEnd.CliAsync(Silo, cts.Token, "keys", "list")).Out);
        Assert.Equal(ExitCodes.Failed, (await EndToEnd.CliAsync(Silo, cts.Token, "keys", "revoke", id)).ExitCode);
    }

    [Fact]
    public async Task KeysCreate_WithAnUnknownRole_IsAUsageError()
    {
        using var cts = EndToEnd.Timeout(30);
        var run = await EndToEnd.CliAsync(Silo, cts.Token, "keys", "create", "x", "--role", "boss");
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--role 'boss' is not a role", run.Error, StringComparison.Ordinal);
    }
}
