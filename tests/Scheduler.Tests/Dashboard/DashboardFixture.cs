using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Hosting;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.Dashboard;

/// <summary>
/// A real silo host as Silo/Program.cs builds it (embedded storage, HTTP on a loopback port, loopback trust off so the
/// browser signs in with a key as from beyond loopback) and one headless Debian Chromium driven through chromedriver,
/// shared by the collection's tests. Screenshots go to the test output folder, dashboard-screenshots/.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<ApiRole, string> _tokens = [];

    public WebApplication App { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public ChromeDriver Browser { get; private set; } = null!;
    public string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots");
    public ISchedulerClient Sdk => App.Services.GetRequiredService<ISchedulerClient>();

    public async Task InitializeAsync()
    {
        foreach (var tool in new[] { Chromium, ChromeDriverPath })
        {
            if (!File.Exists(tool))
                throw new InvalidOperationException($"{tool} is missing: the dashboard's browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; scripts/test.sh installs them)");
        }
        var ports = ServerProcess.FreeLoopbackPorts(3);
        BaseUrl = $"http://127.0.0.1:{ports[0]}";
        var builder = WebSilo.CreateBuilder(Path.Combine(_dir.Path, "data"), "dash-" + Guid.NewGuid().ToString("N")[..10], ports[1], ports[2],
            new Dictionary<string, string?>
            {
                ["Urls"] = BaseUrl,
                ["Scheduler:MaxConcurrentJobs"] = "8",
                // The Limits page's breaker: its handler's first failure opens it, for an hour unless reset.
                [$"Scheduler:Breakers:Handlers:{BreakerHandler}:ConsecutiveFailures"] = "1",
                [$"Scheduler:Breakers:Handlers:{BreakerHandler}:CoolDown"] = "01:00:00",
            });
        builder.AddScheduler(silo => silo.Services.AddJobHandler<HeldHandler>(HeldHandler.Name, o => o.MaxAttempts = 1)
            .AddJobHandler<HeldHandler>(BreakerHandler, o => o.MaxAttempts = 1));
        App = builder.Build();
        await WebSilo.StartAsync(App);

        Directory.CreateDirectory(ScreenshotDir);
        var options = new ChromeOptions { BinaryLocation = Chromium };
        // Root in a container needs --no-sandbox; the networking switches keep Chromium from calling home, which this
        // machine's closed network refuses.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
            "--user-data-dir=" + Path.Combine(_dir.Path, "chromium"));
        options.SetLoggingPreference(LogType.Browser, OpenQA.Selenium.LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriverPath)!, Path.GetFileName(ChromeDriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        Browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        Browser.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
    }

    /// <summary>A second name of <see cref="HeldHandler"/>, with a circuit breaker that opens at its first failure.</summary>
    public const string BreakerHandler = "test.breaker";

    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriverPath = "/usr/bin/chromedriver";

    /// <summary>A key of this role, made through the access grain as the CLI makes it (once per role).</summary>
    public async Task<string> TokenAsync(ApiRole role)
    {
        lock (_tokens)
        {
            if (_tokens.TryGetValue(role, out var known))
                return known;
        }
        var created = await App.Services.GetRequiredService<IGrainFactory>().GetGrain<IAccessGrain>(0)
            .CreateKey(new ApiKeyRequest { Name = "dashboard-" + role.ToString().ToLowerInvariant(), Role = role }, "test");
        lock (_tokens)
            _tokens[role] = created.Token;
        return created.Token;
    }

    /// <summary>Signs the browser in with a key of <paramref name="role"/> through the sign-in form, then opens <paramref name="hash"/>.</summary>
    public async Task SignInAsync(ApiRole role, string hash = "#/")
    {
        var token = await TokenAsync(role);
        Browser.Navigate().GoToUrl(BaseUrl + "/");
        Browser.ExecuteScript("sessionStorage.clear();");
        Browser.Navigate().Refresh();
        var key = Until(d => d.FindElement(By.Id("apikey")));
        key.SendKeys(token);
        key.SendKeys(Keys.Enter);
        Until(d => d.FindElement(By.CssSelector(".who")).Text.Contains(role.ToString().ToLowerInvariant(), StringComparison.Ordinal));
        Browser.Navigate().GoToUrl(BaseUrl + "/" + hash);
        // The page before sign-in asked /api/v1/me without a key (401): the browser logs that load as an error.
        Browser.Manage().Logs.GetLog(LogType.Browser);
    }

    public WebDriverWait Wait(int seconds = 30)
    {
        var wait = new WebDriverWait(Browser, TimeSpan.FromSeconds(seconds)) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait;
    }

    /// <summary>Waits for <paramref name="condition"/>; on a timeout saves a screenshot and says what the page showed.</summary>
    public T Until<T>(Func<IWebDriver, T> condition, int seconds = 30)
    {
        try
        {
            return Wait(seconds).Until(condition);
        }
        catch (WebDriverTimeoutException e)
        {
            var shot = Screenshot("timeout-" + DateTime.UtcNow.ToString("HHmmss-fff", CultureInfo.InvariantCulture));
            var text = Browser.FindElement(By.TagName("body")).Text;
            throw new WebDriverTimeoutException($"{e.Message} at {Browser.Url}; screenshot {shot}; the page showed:\n{text[..Math.Min(text.Length, 1500)]}", e);
        }
    }

    /// <summary>Error entries of the browser's console since the last read (uncaught errors, failed loads, console.error).</summary>
    public IReadOnlyList<string> ConsoleErrors() =>
        [.. Browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= OpenQA.Selenium.LogLevel.Severe).Select(e => e.Message)];

    public string Screenshot(string name)
    {
        var path = Path.Combine(ScreenshotDir, name + ".png");
        Browser.GetScreenshot().SaveAsFile(path);
        return path;
    }

    public async Task DisposeAsync()
    {
        HeldHandler.ReleaseAll();
        Browser?.Quit();
        Browser?.Dispose();
        await WebSilo.StopAsync(App);
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>What the "test.held" handler does: log lines, then wait until the test releases its tag, then answer.</summary>
public sealed record HeldPayload(string Tag, int Lines = 3, string Outcome = "success");

/// <summary>
/// Writes its log lines, then holds its attempt until <see cref="Release"/> (or a cancel); fails fatally when asked to,
/// or only on its first run with "fatal-once" (so a requeued dead letter then succeeds).
/// </summary>
public sealed class HeldHandler : IJobHandler
{
    public const string Name = "test.held";
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();
    private static readonly ConcurrentDictionary<JobId, int> Runs = new();

    public static void Release(string tag) => Gate(tag).TrySetResult();

    public static void ReleaseAll()
    {
        foreach (var gate in Gates.Values)
            gate.TrySetResult();
    }

    private static TaskCompletionSource Gate(string tag) => Gates.GetOrAdd(tag, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var held = context.ReadPayload<HeldPayload>();
        var run = Runs.AddOrUpdate(context.Id, 1, (_, n) => n + 1);
        for (var i = 1; i <= held.Lines; i++)
            context.Log.Write(LogStream.StdOut, $"{held.Tag}: step {i} of {held.Lines}");
        if (held.Outcome == "fatal" || (held.Outcome == "fatal-once" && run == 1))
            return JobResult.Fatal($"{held.Tag}: failing on purpose");
        context.Log.Write(LogStream.StdOut, $"{held.Tag}: waiting to be released");
        await Gate(held.Tag).Task.WaitAsync(cancellationToken);
        context.Log.Write(LogStream.StdOut, $"{held.Tag}: released, done");
        return JobResult.Success();
    }
}
