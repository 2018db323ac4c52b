using System.Net;
using System.Text.Json;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>
/// What the dashboard's pages read, through REST and the SDK against a real silo: workflows listed a page at a time,
/// jobs by time range and free text, and the silos with their busy slots. Bad input gets a 400 that says what is wrong.
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class DashboardDataApiTests(RestApiFixture fixture)
{
    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];

    private static IEnumerable<string?> Ids(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString());

    private static async Task<string?> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("detail").GetString();
    }

    private async Task<WorkflowId> WorkflowAsync(string tenant, string name, CancellationToken ct) =>
        (await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Tenant = tenant,
            Name = name,
            NotBefore = DateTimeOffset.UtcNow.AddHours(1),
            Jobs = [new WorkflowJob { Name = "a", Handler = WorkHandler.Name }, new WorkflowJob { Name = "b", Handler = WorkHandler.Name, DependsOn = ["a"] }],
        }, ct)).Id;

    [Fact]
    public async Task Workflows_AreListedNewestFirst_ByCursor_FilteredByStateNameAndTenant()
    {
        var ct = Bounded();
        var tenant = "wfl-" + _tag;
        var other = "wfo-" + _tag;
        var mine = new List<WorkflowId>();
        for (var i = 0; i < 5; i++)
            mine.Add(await WorkflowAsync(tenant, $"nightly-{_tag}-{i}", ct));
        var theirs = await WorkflowAsync(other, $"nightly-{_tag}-other", ct);
        using var http = fixture.As(ApiRole.Viewer);

        // Pages of two, newest first, each workflow once.
        var seen = new List<string?>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await http.GetAsync($"/api/v1/workflows?tenant={tenant}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), ct)).ReadJsonAsync();
            seen.AddRange(Ids(page));
            cursor = page.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
            pages++;
        } while (cursor is not null && pages < 10);
        Assert.Equal(mine.AsEnumerable().Reverse().Select(w => w.ToString()), seen);

        var first = (await (await http.GetAsync($"/api/v1/workflows?tenant={tenant}&limit=1", ct)).ReadJsonAsync()).GetProperty("items")[0];
        Assert.Equal($"nightly-{_tag}-4", first.GetProperty("name").GetString());
        Assert.Equal(2, first.GetProperty("jobs").GetInt32());
        Assert.Equal(tenant, first.GetProperty("tenant").GetString());

        // By name (contains, any case) across tenants; by state.
        var byName = await (await http.GetAsync($"/api/v1/workflows?name=NIGHTLY-{_tag}-3", ct)).ReadJsonAsync();
        Assert.Equal([mine[3].ToString()], Ids(byName));
        await fixture.Sdk.CancelWorkflowAsync(mine[1], "listing test", ct);
        var cancelled = await (await http.GetAsync($"/api/v1/workflows?tenant={tenant}&state=cancelled", ct)).ReadJsonAsync();
        Assert.Equal([mine[1].ToString()], Ids(cancelled));
        Assert.Equal("cancelled", cancelled.GetProperty("items")[0].GetProperty("state").GetString());

        // A tenant's key sees its own workflows only, whatever it asks for.
        using var scoped = fixture.As(ApiRole.Viewer, other);
        Assert.Equal([theirs.ToString()], Ids(await (await scoped.GetAsync($"/api/v1/workflows?name=nightly-{_tag}", ct)).ReadJsonAsync()));
        Assert.Empty(Ids(await (await scoped.GetAsync($"/api/v1/workflows?tenant={tenant}", ct)).ReadJsonAsync()));

        // The SDK pages the same way.
        var sdkPage = await fixture.Sdk.ListWorkflowsAsync(new WorkflowFilter { Tenant = tenant, Limit = 3 }, ct);
        Assert.Equal(mine.AsEnumerable().Reverse().Take(3), sdkPage.Items.Select(w => w.Id));
        var rest = await fixture.Sdk.ListWorkflowsAsync(new WorkflowFilter { Tenant = tenant, Limit = 3, After = sdkPage.Next }, ct);
        Assert.Equal(mine.Take(2).Reverse(), rest.Items.Select(w => w.Id));
        Assert.Null(rest.Next);
    }

    [Fact]
    public async Task Workflows_BadFilters_Are400sThatSayWhatIsWrong()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Viewer);
        Assert.Contains("'bogus' is not a WorkflowState", await ProblemAsync(await http.GetAsync("/api/v1/workflows?state=bogus", ct)), StringComparison.Ordinal);
        Assert.Contains("limit 0 is out of range", await ProblemAsync(await http.GetAsync("/api/v1/workflows?limit=0", ct)), StringComparison.Ordinal);
        Assert.Contains("limit 501 is out of range", await ProblemAsync(await http.GetAsync("/api/v1/workflows?limit=501", ct)), StringComparison.Ordinal);
        Assert.Contains("cursor 'nope'", await ProblemAsync(await http.GetAsync("/api/v1/workflows?cursor=nope", ct)), StringComparison.Ordinal);
        Assert.Contains("tenant 'bad name!' is not a valid name", await ProblemAsync(await http.GetAsync("/api/v1/workflows?tenant=bad%20name!", ct)), StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Sdk.ListWorkflowsAsync(new WorkflowFilter { Limit = 0 }, ct));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, refused.Code);
    }

    [Fact]
    public async Task Jobs_AreFilteredByTimeRangeAndFreeText()
    {
        var ct = Bounded();
        var tenant = "txt-" + _tag;
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var submitted = await fixture.Sdk.SubmitManyAsync(
            [.. Enumerable.Range(0, 3).Select(_ => new JobRequest { Handler = WorkHandler.Name, Tenant = tenant, NotBefore = DateTimeOffset.UtcNow.AddHours(1) })], ct);
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        var ids = submitted.Select(s => (string?)s.Id.ToString()).ToHashSet();
        using var http = fixture.As(ApiRole.Viewer);
        async Task<HashSet<string?>> ListAsync(string query) =>
            [.. Ids(await (await http.GetAsync("/api/v1/jobs?limit=1000&" + query, ct)).ReadJsonAsync())];
        string At(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O"));

        Assert.True(ids.SetEquals(await ListAsync($"tenant={tenant}&createdAfter={At(before)}&createdBefore={At(after)}")));
        Assert.Empty(await ListAsync($"tenant={tenant}&createdAfter={At(after)}"));
        Assert.Empty(await ListAsync($"tenant={tenant}&createdBefore={At(before)}"));

        // Free text: a prefix of the tenant (any case), of the id, or of the handler; its wildcards are plain text.
        Assert.True(ids.SetEquals(await ListAsync($"q={tenant.ToUpperInvariant()}")));
        var one = submitted[1].Id.ToString();
        Assert.Equal([one], await ListAsync($"q={one[..20]}"));
        Assert.Equal([one], await ListAsync($"q={one.ToUpperInvariant()}"));
        Assert.True(ids.SetEquals(await ListAsync($"tenant={tenant}&q={WorkHandler.Name[..6]}")));
        Assert.Empty(await ListAsync($"tenant={tenant}&q=%25"));
        Assert.Empty(await ListAsync($"tenant={tenant}&q=t_t"));

        var sdk = await fixture.Sdk.ListAsync(new JobFilter { Text = one[..20], Limit = 10 }, ct);
        Assert.Equal([submitted[1].Id], sdk.Select(j => j.Id));
    }

    [Fact]
    public async Task Jobs_BadTimeRangeOrText_Are400sThatSayWhatIsWrong()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Viewer);
        Assert.Equal("createdAfter 'yesterday' is not a time: use ISO 8601, as in 2026-12-07T10:00:00Z",
            await ProblemAsync(await http.GetAsync("/api/v1/jobs?createdAfter=yesterday", ct)));
        Assert.Contains("is not before createdBefore",
            await ProblemAsync(await http.GetAsync("/api/v1/jobs?createdAfter=2026-12-07T10:00:00Z&createdBefore=2026-12-07T09:00:00Z", ct)), StringComparison.Ordinal);
        Assert.Contains("text must be 1 to 200 characters", await ProblemAsync(await http.GetAsync("/api/v1/jobs?q=" + new string('x', 201), ct)), StringComparison.Ordinal);
        Assert.Contains("is not the start of a job id", await ProblemAsync(await http.GetAsync("/api/v1/jobs?id=xyz", ct)), StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Sdk.ListAsync(new JobFilter
        {
            CreatedAfter = DateTimeOffset.UtcNow,
            CreatedBefore = DateTimeOffset.UtcNow.AddHours(-1),
        }, ct));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, refused.Code);
    }

    [Fact]
    public async Task Silos_ShowTheirSlots_AndHowManyAreBusy()
    {
        var ct = Bounded();
        using var http = fixture.As(ApiRole.Viewer);
        var silo = Assert.Single((await (await http.GetAsync("/api/v1/silos", ct)).ReadJsonAsync()).EnumerateArray());
        Assert.Equal(4, silo.GetProperty("slots").GetInt32());
        Assert.True(silo.GetProperty("pulling").GetBoolean());
        Assert.False(string.IsNullOrEmpty(silo.GetProperty("name").GetString()));

        // A running job takes a slot, and the listing shows it.
        await fixture.Sdk.SubmitManyAsync([new JobRequest { Handler = WorkHandler.Name, Payload = Payloads.Work(sleepMs: 3000) }], ct);
        while ((await (await http.GetAsync("/api/v1/silos", ct)).ReadJsonAsync())[0].GetProperty("busy").GetInt32() == 0)
            await Task.Delay(50, ct);
        var sdk = Assert.Single(await fixture.Sdk.ListSilosAsync(ct));
        Assert.InRange(sdk.Busy, 0, sdk.Slots);
    }
}
