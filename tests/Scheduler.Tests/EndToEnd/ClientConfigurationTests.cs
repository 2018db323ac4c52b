using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Client;

namespace Scheduler.Tests.EndToEnd;

/// <summary>The SDK configured the way an application configures it: from its "Scheduler:Client" section.</summary>
public sealed class ClientConfigurationTests
{
    [Fact]
    public void AddSchedulerClient_UsesOnlyConfiguredGateways_WhenGatewaysAreConfigured()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Scheduler:Client:Gateways:0"] = "127.0.0.1:41001",
                ["Scheduler:Client:Gateways:1"] = "127.0.0.1:41002",
            })
            .Build();
        var services = new ServiceCollection();

        services.AddSchedulerClient(configuration);

        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<SchedulerClientOptions>>().Value;
        Assert.Equal(["127.0.0.1:41001", "127.0.0.1:41002"], options.Gateways);
    }
}
