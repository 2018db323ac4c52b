using Microsoft.Extensions.Configuration;

namespace Scheduler.Tests.Unit;

/// <summary>The "Scheduler:Ordering" settings: binding, and what validation refuses.</summary>
public sealed class QueueOrderingOptionsTests
{
    private static SchedulerOptions Bind(Dictionary<string, string?> values)
    {
        var options = new SchedulerOptions();
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Scheduler").Bind(options);
        return options;
    }

    [Fact]
    public void Configuration_sets_weights_and_aging_per_queue()
    {
        var options = Bind(new()
        {
            ["Scheduler:Ordering:TenantWeights:gold"] = "3",
            ["Scheduler:Ordering:Aging:batch:PointsPerMinute"] = "2.5",
            ["Scheduler:Ordering:Aging:batch:MaxBoost"] = "30",
        });

        Assert.Empty(options.Validate());
        var batch = options.Ordering.For("batch");
        Assert.Equal(3, batch.WeightOf("gold"));
        Assert.Equal(1, batch.WeightOf("anyone-else"));
        Assert.Equal(new Scheduler.Queues.AgingRule(2.5, 30), batch.Aging);
        Assert.Null(options.Ordering.For("default").Aging);
        Assert.True(batch.FairShare);
    }

    [Theory]
    [InlineData("Scheduler:Ordering:TenantWeights:acme", "0", "Scheduler:Ordering:TenantWeights:acme must be greater than 0")]
    [InlineData("Scheduler:Ordering:TenantWeights:acme", "-2", "Scheduler:Ordering:TenantWeights:acme must be greater than 0")]
    [InlineData("Scheduler:Ordering:Aging:default:PointsPerMinute", "-1", "Scheduler:Ordering:Aging:default:PointsPerMinute must be 0 or more")]
    [InlineData("Scheduler:Ordering:Aging:default:MaxBoost", "-5", "Scheduler:Ordering:Aging:default:MaxBoost must be 0 to 100")]
    [InlineData("Scheduler:Ordering:TenantWeights:bad name", "1", "'bad name' is not a valid tenant name")]
    public void Validation_names_the_setting_and_the_rule(string key, string value, string expected)
    {
        var problems = Bind(new() { [key] = value }).Validate().ToList();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }
}
