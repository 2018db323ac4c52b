using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Hosting;

namespace Scheduler.Tests.Examples;

/// <summary>Retention set in code, as docs/retention.md shows it; the settings it makes pass validation.</summary>
public sealed class RetentionExample
{
    private static void Configure(ISiloBuilder silo)
    {
        // docs: retention in code
        silo.AddScheduler(o =>
        {
            o.Retention.Succeeded = TimeSpan.FromDays(3);
            o.Retention.Failed = TimeSpan.FromDays(30); // dead letters too, a month after they failed
            o.Retention.Cancelled = null;               // cancelled jobs: kept until deleted by hand
        });
        // docs: end retention in code
    }

    [Fact]
    public void RetentionInCode_IsValid()
    {
        var silo = new SiloBuilder();

        Configure(silo);
        using var services = silo.Services.BuildServiceProvider();
        // Reading the options validates them, as a silo's start does.
        var options = services.GetRequiredService<IOptions<SchedulerOptions>>().Value;

        Assert.Equal(TimeSpan.FromDays(3), options.Retention.For(JobState.Succeeded));
        Assert.Equal(TimeSpan.FromDays(30), options.Retention.For(JobState.Failed));
        Assert.Null(options.Retention.For(JobState.Cancelled));
    }

    private sealed class SiloBuilder : ISiloBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();

        public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
    }
}
