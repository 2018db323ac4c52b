using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using Scheduler.Client;
using Scheduler.Rest;

namespace Scheduler.Tests.Dashboard;

/// <summary>
/// The operator pages in Debian's Chromium against a real silo: Queues, Limits (keys, gates, breakers) and Schedules,
/// each control pressed as an operator and checked through the SDK; a viewer is shown none of them and the API
/// refuses its key.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardOperatorPagesTests(DashboardFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private readonly string _tag = "o" + Guid.NewGuid().ToString("N")[..8];
    private OpenQA.Selenium.Chrome.ChromeDriver Browser => fixture.Browser;

    private static JobRequest Held(string tag, string? tenant = null, string outcome = "success", string handler = HeldHandler.Name) => new()
    {
        Handler = handler,
        Tenant = tenant ?? JobRequest.DefaultTenant,
        Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new HeldPayload(tag, 1, outcome))],
    };

    private async Task<JobId> SubmitAsync(JobRequest request, CancellationToken ct) =>
        (await fixture.Sdk.SubmitManyAsync([request], ct))[0].Id;

    private async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, CancellationToken ct)
    {
        while (true)
        {
            var value = await read();
            if (done(value))
                return value;
            await Task.Delay(100, ct);
        }
    }

    private string Cell(string row, string column) => Browser.FindElement(By.CssSelector($"{row} td[data-col='{column}']")).Text;

    private string Message(string id) => Browser.FindElement(By.Id(id)).Text;

    /// <summary>Accepts the confirm() dialog a destructive control opens.</summary>
    private void Confirm() => fixture.Until(d =>
    {
        try
        {
            d.SwitchTo().Alert().Accept();
            return true;
        }
        catch (NoAlertPresentException)
        {
            return false;
        }
    });

    private static void Type(IWebElement input, string text)
    {
        input.Clear();
        input.SendKeys(text);
    }

    [Fact]
    public async Task QueuesPage_ShowsATenantsWaitingAndTakenJobs_AndEmptiesAsTheyRun()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = "dash-q-" + _tag;
        // More jobs than the silo's 8 slots: some are taken, the rest wait in the queue.
        var ids = new List<JobId>();
        foreach (var _ in Enumerable.Range(0, 10))
            ids.Add(await SubmitAsync(Held(_tag, tenant), cts.Token));

        var row = $"tr[data-tenant='{tenant}']";
        try
        {
            await fixture.SignInAsync(ApiRole.Operator, "#/queues");
            fixture.Until(d =>
            {
                var cells = d.FindElements(By.CssSelector(row + " td"));
                return cells.Count == 6 && int.Parse(cells[2].Text, CultureInfo.InvariantCulture) >= 2
                    && int.Parse(cells[2].Text, CultureInfo.InvariantCulture) + int.Parse(cells[3].Text, CultureInfo.InvariantCulture) == 10
                    && cells[5].Text.EndsWith(" s", StringComparison.Ordinal);
            });
            Assert.Equal("1", Browser.FindElements(By.CssSelector(row + " td"))[1].Text);
            Assert.Contains("Queue default", Browser.FindElement(By.TagName("main")).Text, StringComparison.Ordinal);
            fixture.Screenshot("queues");
            Assert.Empty(fixture.ConsoleErrors());
        }
        finally
        {
            // Held jobs fill the silo's slots: never leave them to the next test.
            HeldHandler.Release(_tag);
        }
        foreach (var id in ids)
            await UntilAsync(() => fixture.Sdk.GetStatusAsync(id, cts.Token), s => s?.State == JobState.Succeeded, cts.Token);
        fixture.Until(d => d.FindElements(By.CssSelector(row)).Count == 0);
    }

    [Fact]
    public async Task LimitsPage_SetsAKeysLimits_PausesDropsAndResumesAGate_AndResetsABreaker()
    {
        using var cts = new CancellationTokenSource(Patience);
        await fixture.SignInAsync(ApiRole.Operator, "#/limits");

        // A key's limit and rate.
        var key = "dash-key-" + _tag;
        Type(fixture.Until(d => d.FindElement(By.Id("limit-key"))), key);
        Type(Browser.FindElement(By.Id("limit-limit")), "3");
        Type(Browser.FindElement(By.Id("limit-rate-count")), "10");
        Type(Browser.FindElement(By.Id("limit-rate-window")), "90");
        Browser.FindElement(By.Id("set-limit")).Click();
        fixture.Until(d => Message("limits-message") == $"Set limit on {key}: done");
        var status = await fixture.Sdk.GetKeyAsync(key, cts.Token);
        Assert.Equal((3, 10, TimeSpan.FromSeconds(90), "runtime"), (status.Settings!.Limit, status.Settings.Rate!.Count, status.Settings.Rate.Window, status.Source));
        fixture.Until(_ => Cell($"tr[data-key='{key}']", "limit").StartsWith("3", StringComparison.Ordinal)
            && Cell($"tr[data-key='{key}']", "rate") == "10 per 00:01:30");
        // A bad value is refused by the page, naming it, and nothing is sent.
        Type(Browser.FindElement(By.Id("limit-limit")), "many");
        Browser.FindElement(By.Id("set-limit")).Click();
        fixture.Until(d => Message("limits-message").Contains("the limit must be a whole number", StringComparison.Ordinal));
        Assert.Equal(3, (await fixture.Sdk.GetKeyAsync(key, cts.Token)).Settings!.Limit);

        // A tenant's gate: paused, holding a job, dropped (the job is cancelled), resumed.
        var tenant = "dash-gate-" + _tag;
        var gate = $"tr[data-gate='tenant:{tenant}']";
        Browser.FindElement(By.XPath("//select[@id='gate-kind']/option[text()='tenant']")).Click();
        Type(Browser.FindElement(By.Id("gate-name")), tenant);
        Type(Browser.FindElement(By.Id("gate-reason")), "maintenance");
        Browser.FindElement(By.Id("pause-gate")).Click();
        fixture.Until(_ => Cell(gate, "state") == "paused");
        var held = await SubmitAsync(Held(_tag, tenant), cts.Token);
        fixture.Until(_ => Cell(gate, "held") == "1");
        Assert.Contains("maintenance", Browser.FindElement(By.CssSelector(gate)).Text, StringComparison.Ordinal);
        fixture.Screenshot("limits");
        Browser.FindElement(By.CssSelector(gate + " .drop-gate")).Click();
        Confirm();
        fixture.Until(d => Message("limits-message") == $"Drop tenant:{tenant}: 1 cancelled");
        Assert.Equal(JobState.Cancelled, (await fixture.Sdk.GetStatusAsync(held, cts.Token))!.State);
        Browser.FindElement(By.CssSelector(gate + " .resume-gate")).Click();
        fixture.Until(d => Message("limits-message") == $"Resume tenant:{tenant}: done");
        Assert.DoesNotContain(await fixture.Sdk.ListGatesAsync(cts.Token), g => g.Target == $"tenant:{tenant}" && g.Paused);

        // The breaker opens at its handler's first failure, and Reset closes it.
        var breaker = $"tr[data-breaker='handler:{DashboardFixture.BreakerHandler}']";
        var failed = await SubmitAsync(Held(_tag, outcome: "fatal", handler: DashboardFixture.BreakerHandler), cts.Token);
        await UntilAsync(() => fixture.Sdk.GetStatusAsync(failed, cts.Token), s => s?.State == JobState.Failed, cts.Token);
        fixture.Until(_ => Cell(breaker, "state").StartsWith("open", StringComparison.Ordinal));
        fixture.Screenshot("limits-breaker-open");
        Browser.FindElement(By.CssSelector(breaker + " .reset-breaker")).Click();
        fixture.Until(_ => Cell(breaker, "state").StartsWith("closed", StringComparison.Ordinal));
        Assert.Equal(BreakerState.Closed, (await fixture.Sdk.GetBreakerAsync($"handler:{DashboardFixture.BreakerHandler}", cts.Token)).State);
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task SchedulesPage_PausesResumesTriggersBackfillsAndDeletesASchedule()
    {
        using var cts = new CancellationTokenSource(Patience);
        HeldHandler.Release(_tag);
        var id = "dash-" + _tag;
        await fixture.Sdk.UpsertScheduleAsync(new ScheduleDefinition
        {
            Id = id,
            Job = Held(_tag),
            Trigger = ScheduleTrigger.FromCron("0 3 * * *"),
            // Occurrences may be backfilled from five days ago; none is caught up on at creation.
            StartAt = DateTimeOffset.UtcNow.AddDays(-5),
            Missed = ScheduleMissedPolicy.Skip,
        }, cts.Token);
        await fixture.SignInAsync(ApiRole.Operator, "#/schedules");
        var row = $"tr[data-schedule='{id}']";
        IWebElement Button(string name) => Browser.FindElement(By.CssSelector($"{row} .{name}-schedule"));

        fixture.Until(_ => Cell(row, "state") == "active");
        Button("pause").Click();
        fixture.Until(_ => Cell(row, "state") == "paused");
        Assert.True((await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token))!.Paused);
        Button("resume").Click();
        fixture.Until(_ => Cell(row, "state") == "active");
        Assert.False((await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token))!.Paused);

        var before = (await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token))!.RunCount;
        Button("trigger").Click();
        fixture.Until(d => Message("schedules-message").StartsWith($"Trigger {id}: ", StringComparison.Ordinal));
        fixture.Until(_ => Cell(row, "runs") == (before + 1).ToString(CultureInfo.InvariantCulture));

        // Its detail: five next occurrences, then a backfill of two past days (one occurrence each).
        Browser.FindElement(By.CssSelector($"{row} button.link")).Click();
        fixture.Until(d => d.FindElements(By.CssSelector("#next-occurrences li")).Count == 5);
        var to = DateTimeOffset.UtcNow.AddHours(-2);
        Type(Browser.FindElement(By.Id("backfill-from")), to.AddHours(-48).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        Type(Browser.FindElement(By.Id("backfill-to")), to.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        Browser.FindElement(By.Id("backfill")).Click();
        fixture.Until(d => Message("schedules-message") == $"Backfill {id}: 2 runs");
        var status = await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token);
        Assert.Equal(2, status!.LastRuns.Count(r => r.Reason == ScheduleFireReason.Backfill));
        fixture.Until(d => d.FindElements(By.CssSelector("#last-runs li")).Count(li => li.Text.Contains("(backfill)", StringComparison.Ordinal)) == 2, 40);
        fixture.Screenshot("schedules");

        Button("delete").Click();
        Confirm();
        fixture.Until(d => Message("schedules-message") == $"Delete {id}: deleted");
        Assert.Null(await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token));
        fixture.Until(d => d.FindElements(By.CssSelector(row)).Count == 0);
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task ViewerKey_SeesTheOperatorPagesWithoutControls_AndTheApiRefusesIt()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = "dash-viewer-" + _tag;
        var tenant = "dash-viewer-" + _tag;
        await fixture.Sdk.UpsertScheduleAsync(new ScheduleDefinition { Id = id, Job = Held(_tag), Trigger = ScheduleTrigger.FromCron("0 3 * * *") }, cts.Token);
        await fixture.Sdk.PauseGateAsync($"tenant:{tenant}", "viewer test", cts.Token);
        await fixture.Sdk.SetKeyLimitsAsync("dash-viewer-key", new KeySettings { Limit = 2 }, cts.Token);
        try
        {
            await fixture.SignInAsync(ApiRole.Viewer, "#/schedules");
            fixture.Until(d => d.FindElement(By.CssSelector($"tr[data-schedule='{id}']")));
            Browser.FindElement(By.CssSelector($"tr[data-schedule='{id}'] button.link")).Click();
            fixture.Until(d => d.FindElements(By.CssSelector("#next-occurrences li")).Count == 5);
            Assert.Empty(Browser.FindElements(By.CssSelector("main .row-actions, main [class$='-schedule'], #backfill-form")));

            Browser.Navigate().GoToUrl(fixture.BaseUrl + "/#/limits");
            fixture.Until(d => d.FindElement(By.CssSelector($"tr[data-gate='tenant:{tenant}']")));
            fixture.Until(d => d.FindElement(By.CssSelector($"tr[data-breaker='handler:{DashboardFixture.BreakerHandler}']")));
            fixture.Until(d => d.FindElement(By.CssSelector("tr[data-key='dash-viewer-key']")));
            Assert.Empty(Browser.FindElements(By.CssSelector("#limit-form, #gate-form, .resume-gate, .drop-gate, .reset-breaker, #keys-table button")));
            fixture.Screenshot("limits-viewer");

            Browser.Navigate().GoToUrl(fixture.BaseUrl + "/#/queues");
            fixture.Until(d => d.FindElement(By.CssSelector("table[data-table='tenants']")));
            Assert.Empty(Browser.FindElements(By.CssSelector("main button, main form")));
            Assert.Empty(fixture.ConsoleErrors());

            // Were the controls there, the API would refuse the viewer's key for each.
            var calls = new (string Method, string Path, string? Body)[]
            {
                ("PUT", "/api/v1/limits/keys/dash-viewer-key", """{"limit":5}"""),
                ("POST", $"/api/v1/gates/tenant:{tenant}/resume", null),
                ("POST", $"/api/v1/gates/tenant:{tenant}/drop", "{}"),
                ("POST", $"/api/v1/breakers/handler:{DashboardFixture.BreakerHandler}/reset", null),
                ("POST", $"/api/v1/schedules/{id}/pause", "{}"),
                ("POST", $"/api/v1/schedules/{id}/trigger", null),
                ("POST", $"/api/v1/schedules/{id}/backfill", """{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z"}"""),
                ("DELETE", $"/api/v1/schedules/{id}", null),
            };
            foreach (var (method, path, body) in calls)
            {
                var answer = ((IJavaScriptExecutor)Browser).ExecuteAsyncScript("""
                    const done = arguments[arguments.length - 1];
                    const headers = { 'X-Api-Key': sessionStorage.getItem('scheduler.apiKey'), 'Content-Type': 'application/json' };
                    fetch(arguments[1], { method: arguments[0], headers, body: arguments[2] ?? undefined }).then(r => done(r.status));
                    """, method, path, body);
                Assert.True(answer is 403L, $"{method} {path}: {answer}");
            }
            Assert.Equal(2, (await fixture.Sdk.GetKeyAsync("dash-viewer-key", cts.Token)).Settings!.Limit);
            Assert.Contains(await fixture.Sdk.ListGatesAsync(cts.Token), g => g.Target == $"tenant:{tenant}" && g.Paused);
            Assert.NotNull(await fixture.Sdk.GetScheduleAsync(id, 0, cts.Token));
        }
        finally
        {
            await fixture.Sdk.ResumeGateAsync($"tenant:{tenant}", CancellationToken.None);
            await fixture.Sdk.DeleteScheduleAsync(id, CancellationToken.None);
        }
    }
}
