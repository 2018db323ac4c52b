using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>A silo host with a bad "Scheduler" setting refuses to start and names the setting.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class InvalidConfigurationTests
{
    [Theory]
    [InlineData("Scheduler:MaxConcurrentJobs", "0")]
    [InlineData("Scheduler:ShutdownGracePeriod", "-00:00:01")]
    [InlineData("Scheduler:GatewayPort", "70000")]
    [InlineData("Scheduler:Queues:0", "not a queue!")]
    [InlineData("Scheduler:Handlers:command:MaxAttempts", "0")]
    [InlineData("Scheduler:Handlers:command:Retry:Multiplier", "50")]
    [InlineData("Scheduler:Handlers:noop:Retry:InitialDelay", "30.00:00:00")]
    public async Task Start_ThrowsNamingSetting_WhenSettingIsInvalid(string key, string value)
    {
        var exception = await StartExpectingFailureAsync(key, value);

        Assert.Contains(key.StartsWith("Scheduler:Queues", StringComparison.Ordinal) ? "Scheduler:Queues" : key, exception.Message);
    }

    [Fact]
    public async Task Start_ThrowsNamingSettingAndValue_WhenStorageIsUnknown()
    {
        var exception = await StartExpectingFailureAsync("Scheduler:Storage", "Bogus");

        Assert.Contains("Scheduler:Storage", exception.Message);
        Assert.Contains("Bogus", exception.Message);
    }

    [Fact]
    public async Task Build_UsesExactlyConfiguredQueues_WhenQueuesAreConfigured()
    {
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?> { ["Scheduler:Queues:0"] = "default", ["Scheduler:Queues:1"] = "reports" },
        };

        // Not started: building resolves the configuration the silo would run with.
        await using var app = SiloProcessHost.Build(settings);

        var options = app.Services.GetRequiredService<IOptions<SchedulerOptions>>().Value;
        Assert.Equal(["default", "reports"], options.Queues);
    }

    [Fact]
    public async Task Build_AppliesHandlerRetrySettings_FromConfiguration()
    {
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Handlers:command:MaxAttempts"] = "7",
                ["Scheduler:Handlers:command:ExceptionsAreFatal"] = "true",
                ["Scheduler:Handlers:command:Retry:InitialDelay"] = "00:00:30",
                ["Scheduler:Handlers:command:Retry:Jitter"] = "Full",
            },
        };

        await using var app = SiloProcessHost.Build(settings);

        var registry = app.Services.GetRequiredService<Scheduler.Execution.JobHandlerRegistry>();
        var command = registry.Resolve(new JobRequest { Handler = CommandJob.HandlerName });
        var noop = registry.Resolve(new JobRequest { Handler = "noop" });
        Assert.Equal(7, command.Limits.MaxAttempts);
        Assert.Equal(new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(30), Multiplier = 2, MaxDelay = TimeSpan.FromMinutes(5), Jitter = RetryJitter.Full }, command.Retry);
        Assert.True(registry.OptionsOf(CommandJob.HandlerName).ExceptionsAreFatal);
        Assert.Equal(JobLimits.DefaultMaxAttempts, noop.Limits.MaxAttempts);
        Assert.Equal(RetryPolicy.Default, noop.Retry);
    }

    private static async Task<Exception> StartExpectingFailureAsync(string key, string value)
    {
        using var cts = EndToEnd.Timeout(30);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data")) with
        {
            Overrides = new Dictionary<string, string?> { [key] = value },
        };

        var exception = await Record.ExceptionAsync(async () =>
        {
            await using var host = await SiloProcessHost.StartAsync(settings, cts.Token);
        });

        Assert.NotNull(exception);
        Assert.IsNotType<OperationCanceledException>(exception);
        return exception;
    }
}
