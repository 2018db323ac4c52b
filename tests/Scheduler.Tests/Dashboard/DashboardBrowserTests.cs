using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using Scheduler.Client;
using Scheduler.Rest;
using Xunit.Abstractions;

namespace Scheduler.Tests.Dashboard;

/// <summary>The web dashboard in Debian's Chromium against a real silo, signed in with API keys as from beyond loopback.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private readonly string _tag = "t" + Guid.NewGuid().ToString("N")[..8];
    private OpenQA.Selenium.Chrome.ChromeDriver Browser => fixture.Browser;

    private static JobRequest Held(string tag, int lines = 3, string outcome = "success") => new()
    {
        Handler = HeldHandler.Name,
        Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new HeldPayload(tag, lines, outcome))],
    };

    private static WorkflowJob HeldJob(string name, string tag, params WorkflowDependency[] dependsOn) => new()
    {
        Name = name,
        Handler = HeldHandler.Name,
        Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new HeldPayload(tag, 2))],
        DependsOn = [.. dependsOn],
    };

    private async Task<JobId> SubmitAsync(JobRequest request, CancellationToken ct) =>
        (await fixture.Sdk.SubmitManyAsync([request], ct))[0].Id;

    private async Task<JobStatus> UntilAsync(JobId id, Func<JobStatus, bool> done, CancellationToken ct)
    {
        while (true)
        {
            var status = await fixture.Sdk.GetStatusAsync(id, ct);
            if (status is not null && done(status))
                return status;
            await Task.Delay(100, ct);
        }
    }

    private string NodeState(string name) =>
        Browser.FindElement(By.CssSelector($"#workflow-graph g.node[data-name='{name}']")).GetAttribute("data-state") ?? "";

    [Fact]
    public async Task EveryPage_LoadsWithoutConsoleErrors()
    {
        using var cts = new CancellationTokenSource(Patience);
        HeldHandler.Release(_tag + "-done");
        var done = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SubmitAsync(Held(_tag + "-done"), cts.Token)));
        var failed = await SubmitAsync(Held(_tag + "-failed", outcome: "fatal"), cts.Token);
        var running = await SubmitAsync(Held(_tag + "-running"), cts.Token);
        var workflow = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "pages",
            Jobs = [HeldJob("extract", _tag + "-done"), HeldJob("load", _tag + "-done", "extract")],
        }, cts.Token);
        await UntilAsync(failed, s => s.State == JobState.Failed, cts.Token);
        await UntilAsync(running, s => s.State == JobState.Running, cts.Token);
        foreach (var id in done)
            await UntilAsync(id, s => s.State == JobState.Succeeded, cts.Token);

        await fixture.SignInAsync(ApiRole.Operator);
        var pages = new (string Hash, string Ready)[]
        {
            ("#/", "#stat-succeeded"),
            ("#/jobs", $"tr[data-job='{running}']"),
            ($"#/jobs/{done[0]}", "#job-history li"),
            ("#/workflows", "#workflow-id"),
            ($"#/workflows/{workflow.Id}", "#workflow-graph g.node"),
            ("#/deadletters", $"tr[data-job='{failed}']"),
            ("#/schedules", "table.grid"),
            ("#/limits", "table.grid"),
        };
        foreach (var (hash, ready) in pages)
        {
            Browser.Navigate().GoToUrl(fixture.BaseUrl + "/" + hash);
            fixture.Until(d => d.FindElement(By.CssSelector(ready)).Displayed);
            Assert.Empty(Browser.FindElements(By.CssSelector("main .error")));
            var errors = fixture.ConsoleErrors();
            Assert.True(errors.Count == 0, $"{hash}: console errors: {string.Join(" | ", errors)}");
            fixture.Screenshot("page-" + (hash.Trim('#', '/').Split('/')[0] is { Length: > 0 } page ? page : "overview")
                + (hash.Count(c => c == '/') > 1 ? "-detail" : ""));
        }
        Browser.Navigate().GoToUrl(fixture.BaseUrl + "/#/jobs");
        fixture.Until(d => d.FindElement(By.CssSelector($"tr[data-job='{running}']")));
        fixture.Screenshot("jobs-list");

        // Keyboard: the page's links and controls are reached with Tab.
        var focused = new HashSet<string>();
        var body = Browser.FindElement(By.TagName("body"));
        for (var i = 0; i < 12; i++)
        {
            Browser.SwitchTo().ActiveElement().SendKeys(Keys.Tab);
            focused.Add(Browser.SwitchTo().ActiveElement().TagName + ":" + Browser.SwitchTo().ActiveElement().Text);
        }
        Assert.Contains("a:Jobs", focused);
        Assert.Contains("a:Dead letters", focused);
        GC.KeepAlive(body);
    }

    [Fact]
    public async Task Workflow_SubmittedThroughTheSdk_ShowsItsNodesChangingStateLive()
    {
        using var cts = new CancellationTokenSource(Patience);
        var submitted = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "nightly-report",
            FailurePolicy = WorkflowFailurePolicy.SkipDescendants,
            Jobs =
            [
                HeldJob("extract", _tag + "-extract"),
                HeldJob("transform", _tag + "-rest", "extract"),
                HeldJob("enrich", _tag + "-rest", "extract"),
                HeldJob("load", _tag + "-rest", "transform", "enrich"),
                HeldJob("notify", _tag + "-rest", "load"),
            ],
        }, cts.Token);
        await fixture.SignInAsync(ApiRole.Operator, $"#/workflows/{submitted.Id}");
        fixture.Until(_ => NodeState("extract") == "running");
        Assert.Equal("waiting", NodeState("load"));
        // Marks this page load: it must still be the same page when the states below have changed.
        ((IJavaScriptExecutor)Browser).ExecuteScript("window.__sameLoad = 'yes';");

        HeldHandler.Release(_tag + "-extract");
        fixture.Until(_ => NodeState("extract") == "succeeded" && NodeState("transform") == "running" && NodeState("enrich") == "running");
        fixture.Screenshot("workflow-graph");
        HeldHandler.Release(_tag + "-rest");
        fixture.Until(_ => NodeState("notify") == "succeeded", 60);
        Assert.Equal("yes", ((IJavaScriptExecutor)Browser).ExecuteScript("return window.__sameLoad;"));
        Assert.Empty(fixture.ConsoleErrors());

        // The list shows it, and a node leads to its job.
        Browser.Navigate().GoToUrl(fixture.BaseUrl + "/#/workflows");
        fixture.Until(d => d.FindElement(By.LinkText(submitted.Id.ToString())));
        Browser.FindElement(By.LinkText(submitted.Id.ToString())).Click();
        fixture.Until(d => d.FindElement(By.CssSelector("#workflow-graph g.node[data-name='load']")));
        Browser.FindElement(By.CssSelector("a[aria-label^='load:']")).Click();
        fixture.Until(d => d.Url.EndsWith($"#/jobs/{submitted.Id.JobIdOf("load", 1)}", StringComparison.Ordinal));
        fixture.Until(d => d.FindElement(By.Id("job-log")).Text.Contains("released, done", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Job_IsCancelledFromItsPage_WhileItsLogTails()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = await SubmitAsync(Held(_tag, lines: 6), cts.Token);
        await fixture.SignInAsync(ApiRole.Operator, $"#/jobs/{id}");
        fixture.Until(d => d.FindElement(By.Id("job-log")).Text.Contains("waiting to be released", StringComparison.Ordinal));
        fixture.Until(d => d.FindElement(By.Id("job-state")).Text == "running");
        fixture.Screenshot("job-with-log");

        Browser.FindElement(By.Id("cancel-job")).Click();
        fixture.Until(d => d.FindElement(By.Id("job-state")).Text == "cancelled");
        var status = await fixture.Sdk.GetStatusAsync(id, cts.Token);
        Assert.Equal(JobState.Cancelled, status!.State);
        fixture.Until(d => d.FindElement(By.Id("job-history")).Text.Contains("cancelled", StringComparison.Ordinal));
        Assert.False(Browser.FindElement(By.Id("cancel-job")).Enabled);
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task DeadLetters_AreRequeuedInBulk()
    {
        using var cts = new CancellationTokenSource(Patience);
        HeldHandler.Release(_tag);
        var ids = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SubmitAsync(Held(_tag, outcome: "fatal-once"), cts.Token)));
        foreach (var id in ids)
            await UntilAsync(id, s => s.State == JobState.Failed, cts.Token);

        await fixture.SignInAsync(ApiRole.Operator, "#/deadletters");
        foreach (var id in ids)
            fixture.Until(d => d.FindElement(By.CssSelector($"tr[data-job='{id}'] input[type=checkbox]"))).Click();
        fixture.Screenshot("dead-letters");
        Browser.FindElement(By.Id("requeue-selected")).Click();
        fixture.Until(d => d.FindElement(By.Id("deadletters-message")).Text.Contains("3 requeued", StringComparison.Ordinal));
        foreach (var id in ids)
        {
            var status = await UntilAsync(id, s => s.State == JobState.Succeeded, cts.Token);
            Assert.Equal(JobState.Succeeded, status.State);
        }
        fixture.Until(d => ids.All(id => d.FindElements(By.CssSelector($"tr[data-job='{id}']")).Count == 0));
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task ViewerKey_CannotPressAControl()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = await SubmitAsync(Held(_tag), cts.Token);
        await UntilAsync(id, s => s.State == JobState.Running, cts.Token);
        await fixture.SignInAsync(ApiRole.Viewer, $"#/jobs/{id}");
        fixture.Until(d => d.FindElement(By.Id("job-state")).Text == "running");
        var cancel = Browser.FindElement(By.Id("cancel-job"));
        Assert.False(cancel.Enabled);
        cancel.Click();

        foreach (var page in new[] { "#/jobs", "#/deadletters" })
        {
            Browser.Navigate().GoToUrl(fixture.BaseUrl + "/" + page);
            fixture.Until(d => d.FindElement(By.CssSelector("table.grid tbody tr")));
            var controls = Browser.FindElements(By.CssSelector("main .actions button, main tbody input[type=checkbox]"));
            Assert.NotEmpty(controls);
            Assert.All(controls, c => Assert.False(c.Enabled, $"{page}: '{c.Text}' is enabled for a viewer"));
        }
        // Were a control enabled by hand, the API refuses the viewer's key all the same.
        var answer = ((IJavaScriptExecutor)Browser).ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch('/api/v1/jobs/' + arguments[0] + '/cancel', { method: 'POST', headers: { 'X-Api-Key': sessionStorage.getItem('scheduler.apiKey') } })
              .then(r => done(r.status));
            """, id.ToString());
        Assert.Equal(403L, answer);
        Assert.Equal(JobState.Running, (await fixture.Sdk.GetStatusAsync(id, cts.Token))!.State);
        HeldHandler.Release(_tag);
    }

    private IReadOnlyList<string> Rows(string table, string attribute) =>
        [.. Browser.FindElements(By.CssSelector($"#{table} tbody tr[{attribute}]")).Select(r => r.GetAttribute(attribute) ?? "")];

    [Fact]
    public async Task WorkflowsPage_ListsFromTheServer_FilteredAndPaged()
    {
        using var cts = new CancellationTokenSource(Patience);
        var ids = new List<WorkflowId>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
            {
                Name = $"listed-{_tag}-{i}",
                NotBefore = DateTimeOffset.UtcNow.AddHours(1),
                Jobs = [HeldJob("only", _tag)],
            }, cts.Token)).Id);
        }
        await fixture.Sdk.CancelWorkflowAsync(ids[0], "browser test", cts.Token);
        var newestFirst = ids.AsEnumerable().Reverse().Select(id => id.ToString()).ToList();

        // Two a page: the newest two, then the oldest; Previous goes back.
        await fixture.SignInAsync(ApiRole.Viewer, $"#/workflows?name=listed-{_tag}&limit=2");
        fixture.Until(_ => Rows("workflows-table", "data-workflow").SequenceEqual(newestFirst.Take(2)));
        fixture.Screenshot("workflows-list");
        Browser.FindElement(By.Id("workflows-next")).Click();
        fixture.Until(_ => Rows("workflows-table", "data-workflow").SequenceEqual(newestFirst.Skip(2)));
        Assert.False(Browser.FindElement(By.Id("workflows-next")).Enabled);
        Browser.FindElement(By.XPath("//button[text()='Previous']")).Click();
        fixture.Until(_ => Rows("workflows-table", "data-workflow").SequenceEqual(newestFirst.Take(2)));

        // The state filter, chosen in the form, asks the server again.
        Browser.FindElement(By.Id("workflow-state")).SendKeys("cancelled");
        Browser.FindElement(By.Id("workflow-filter")).Click();
        fixture.Until(_ => Rows("workflows-table", "data-workflow").SequenceEqual([ids[0].ToString()]));
        Assert.Contains("state=cancelled", Browser.Url, StringComparison.Ordinal);
        Browser.FindElement(By.LinkText(ids[0].ToString())).Click();
        fixture.Until(d => d.FindElement(By.CssSelector("#workflow-graph g.node[data-name='only']")));
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task JobsPage_FiltersByTimeAndText_AndShowsWhatTheServerRefuses()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = "find-" + _tag;
        var jobs = await fixture.Sdk.SubmitManyAsync(
            [.. Enumerable.Range(0, 2).Select(_ => Held(_tag) with { Tenant = tenant, NotBefore = DateTimeOffset.UtcNow.AddHours(1) })], cts.Token);
        var mine = jobs.Select(j => j.Id.ToString()).ToHashSet();
        await fixture.SignInAsync(ApiRole.Viewer, "#/jobs");
        fixture.Until(d => d.FindElement(By.CssSelector("#jobs-table tbody tr")));

        void Filter(string from, string to, string text)
        {
            foreach (var (id, value) in new[] { ("jobs-from", from), ("jobs-to", to), ("jobs-q", text) })
            {
                var input = Browser.FindElement(By.Id(id));
                input.Clear();
                input.SendKeys(value);
            }
            Browser.FindElement(By.Id("jobs-filter")).Click();
        }

        // Free text: a tenant's prefix, in another case.
        Filter("", "", tenant.ToUpperInvariant());
        fixture.Until(_ => Rows("jobs-table", "data-job").ToHashSet().SetEquals(mine));
        // Then the first characters of one job's id, within the last hour (UTC, as the table shows times).
        var one = jobs[0].Id.ToString();
        Filter(DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + "Z", "", one[..23]);
        fixture.Until(_ => Rows("jobs-table", "data-job").SequenceEqual([one]));
        fixture.Screenshot("jobs-filtered");
        // A range that ends before the jobs were submitted.
        Filter("", DateTimeOffset.UtcNow.AddHours(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture), tenant);
        fixture.Until(d => d.FindElement(By.CssSelector("#jobs-table td.empty")).Text == "No jobs match.");
        fixture.ConsoleErrors();

        // What the server cannot read is said on the page, and no stale rows stay beside it.
        Filter("last tuesday", "", tenant);
        var error = fixture.Until(d => d.FindElement(By.CssSelector("main .error")));
        Assert.Equal("createdAfter 'last tuesday' is not a time: use ISO 8601, as in 2026-12-07T10:00:00Z", error.Text);
        Assert.Empty(Rows("jobs-table", "data-job"));
        Filter("2026-12-07T10:00Z", "2026-12-07T09:00Z", "");
        fixture.Until(d => d.FindElement(By.CssSelector("main .error")).Text.Contains("is not before createdBefore", StringComparison.Ordinal));
        fixture.Screenshot("jobs-filter-refused");
        // The browser logs each refused request (400) as a failed load; nothing else.
        Assert.All(fixture.ConsoleErrors(), e => Assert.Contains("400", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Overview_ShowsTheSiloWithItsBusySlots()
    {
        using var cts = new CancellationTokenSource(Patience);
        var id = await SubmitAsync(Held(_tag), cts.Token);
        await UntilAsync(id, s => s.State == JobState.Running, cts.Token);
        await fixture.SignInAsync(ApiRole.Viewer, "#/");
        var cell = fixture.Until(d => d.FindElement(By.CssSelector("#silos-table tbody td.slots")));
        // 8 slots (the fixture's MaxConcurrentJobs), at least this job's busy; other tests' jobs may hold more.
        fixture.Until(_ => cell.Text.EndsWith(" / 8", StringComparison.Ordinal) && int.Parse(cell.Text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 1);
        fixture.Screenshot("overview-silos");
        HeldHandler.Release(_tag);
        await UntilAsync(id, s => s.State == JobState.Succeeded, cts.Token);
        Assert.Empty(fixture.ConsoleErrors());
    }

    [Fact]
    public async Task LargeWorkflowGraph_DrawsTheNodesInView_AndReportsTheTime()
    {
        using var cts = new CancellationTokenSource(Patience);
        // 1,000 jobs in 10 layers of 100, each waiting for two of the layer before; not due for an hour, so they wait.
        var jobs = new List<WorkflowJob>();
        for (var layer = 0; layer < 10; layer++)
        {
            for (var i = 0; i < 100; i++)
            {
                jobs.Add(HeldJob($"l{layer}-{i}", _tag, layer == 0 ? [] : [$"l{layer - 1}-{i}", $"l{layer - 1}-{(i + 37) % 100}"]));
            }
        }
        var submitted = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "thousand",
            NotBefore = DateTimeOffset.UtcNow.AddHours(1),
            Jobs = [.. jobs],
        }, cts.Token);
        await fixture.SignInAsync(ApiRole.Operator);
        // Each load: from navigation to the graph drawn, and its parts (the page's data-*-ms attributes, Workflows.tsx).
        string[] parts = ["total", "request", "fetch", "parse", "layout", "render"];
        var loads = new List<Dictionary<string, double>>();
        for (var run = 0; run < 5; run++)
        {
            Browser.Navigate().GoToUrl(fixture.BaseUrl + $"/#/workflows/{submitted.Id}");
            Browser.Navigate().Refresh();
            var svg = fixture.Until(d => d.FindElement(By.CssSelector("#workflow-graph[data-total-ms]")), 60);
            Assert.Equal("1000", svg.GetAttribute("data-nodes"));
            loads.Add(parts.ToDictionary(p => p, p => double.Parse(svg.GetAttribute($"data-{p}-ms") ?? "NaN", CultureInfo.InvariantCulture)));
        }
        var statusBytes = Browser.FindElement(By.Id("workflow-graph")).GetAttribute("data-status-bytes");
        fixture.Screenshot("workflow-1000");
        // Only the nodes in and near the view are drawn; scrolling halfway down draws those there.
        var Drawn = () => Browser.FindElements(By.CssSelector("#workflow-graph g.node")).Select(n => n.GetAttribute("data-name")).ToHashSet();
        var first = Drawn();
        Assert.InRange(first.Count, 1, 999);
        ((IJavaScriptExecutor)Browser).ExecuteScript("const w = document.querySelector('.graph-wrap'); w.scrollTop = w.scrollHeight / 2;");
        fixture.Until(_ => Drawn().Except(first).Any());
        var totals = loads.Select(l => l["total"]).Order().ToList();
        var report = $"1,000-job workflow graph, navigation to graph drawn: median {totals[totals.Count / 2]:F0} ms, worst {totals[^1]:F0} ms"
            + $" ({first.Count} nodes drawn in and near the first view, status {statusBytes} bytes)\n"
            + string.Join("\n", loads.Select(l => string.Join(", ", parts.Select(p => $"{p} {l[p]:F0}")) + " ms"));
        output.WriteLine(report);
        File.WriteAllText(Path.Combine(fixture.ScreenshotDir, "workflow-1000.txt"), report + "\n");
        Assert.Empty(fixture.ConsoleErrors());
    }
}
