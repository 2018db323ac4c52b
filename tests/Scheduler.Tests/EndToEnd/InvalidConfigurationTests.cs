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
