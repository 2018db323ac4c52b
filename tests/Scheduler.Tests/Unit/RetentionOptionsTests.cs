using Microsoft.Extensions.Configuration;

namespace Scheduler.Tests.Unit;

/// <summary>The retention settings: defaults, what configuration turns off, and what validation refuses.</summary>
public sealed class RetentionOptionsTests
{
    [Fact]
    public void Defaults_KeepSucceededAndCancelledForAWeek_AndDeadLettersUntilPurged()
    {
        var options = new SchedulerOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromDays(7), options.Retention.For(JobState.Succeeded));
        Assert.Equal(TimeSpan.FromDays(7), options.Retention.For(JobState.Cancelled));
        Assert.Null(options.Retention.For(JobState.Failed));
        Assert.Null(options.Retention.For(JobState.Queued));
    }

    [Fact]
    public void Configuration_SetsEachRetention_AndAnEmptyValueKeepsThatState()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scheduler:Retention:Succeeded"] = "1.00:00:00",
            ["Scheduler:Retention:Cancelled"] = "",
            ["Scheduler:Retention:Failed"] = "30.00:00:00",
            ["Scheduler:Retention:BatchSize"] = "200",
        }).Build().GetSection("Scheduler");
        var options = new SchedulerOptions();

        section.Bind(options);

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromDays(1), options.Retention.Succeeded);
        Assert.Null(options.Retention.Cancelled);
        Assert.Equal(TimeSpan.FromDays(30), options.Retention.Failed);
        Assert.Equal(200, options.Retention.BatchSize);
    }

    [Theory]
    [InlineData("Succeeded", "00:00:30", "Scheduler:Retention:Succeeded must be 1 minute to 36500 days")]
    [InlineData("Failed", "-1.00:00:00", "Scheduler:Retention:Failed must be 1 minute to 36500 days")]
    [InlineData("BatchSize", "0", "Scheduler:Retention:BatchSize must be 1 to 10000")]
    [InlineData("WorkflowBatchSize", "5000", "Scheduler:Retention:WorkflowBatchSize must be 1 to 1000")]
    [InlineData("BatchPause", "00:05:00", "Scheduler:Retention:BatchPause must be 0 to 1 minute")]
    [InlineData("MaxDutyCycle", "0", "Scheduler:Retention:MaxDutyCycle must be 0.01 to 1")]
    [InlineData("Interval", "00:00:10", "Scheduler:Retention:Interval must be 1 minute to 1 day")]
    public void Validate_NamesTheSettingAndTheRule(string setting, string value, string expected)
    {
        var options = new SchedulerOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"Scheduler:Retention:{setting}"] = value })
            .Build().GetSection("Scheduler").Bind(options);

        var problem = Assert.Single(options.Validate());

        Assert.StartsWith(expected, problem);
        Assert.Contains(value.TrimStart('-'), problem);
    }

    [Fact]
    public void PauseAfter_SpacesBatchesToTheDutyCycle_NeverBelowTheBatchPause()
    {
        var options = new RetentionOptions { MaxDutyCycle = 0.05, BatchPause = TimeSpan.FromMilliseconds(100) };

        Assert.Equal(TimeSpan.FromMilliseconds(950), options.PauseAfter(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.PauseAfter(TimeSpan.FromMilliseconds(1)));
        Assert.Equal(TimeSpan.FromMinutes(1), options.PauseAfter(TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), new RetentionOptions { MaxDutyCycle = 1 }.PauseAfter(TimeSpan.FromSeconds(2)));
    }
}
