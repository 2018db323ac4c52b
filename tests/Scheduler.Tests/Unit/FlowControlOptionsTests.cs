using System.Text;
using Microsoft.Extensions.Configuration;
using Scheduler.Limits;

namespace Scheduler.Tests.Unit;

public sealed class FlowControlOptionsTests
{
    private static SchedulerOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        return configuration.GetSection(SchedulerOptions.SectionName).Get<SchedulerOptions>() ?? new SchedulerOptions();
    }

    [Fact]
    public void Configuration_BindsKeysWithColons_AndTemplates()
    {
        var options = Bind(
            ("Scheduler:FlowControl:Keys:0:Key", "dbhost:pg1"),
            ("Scheduler:FlowControl:Keys:0:Limit", "4"),
            ("Scheduler:FlowControl:Keys:1:Key", "api:scanoss"),
            ("Scheduler:FlowControl:Keys:1:Rate", "60"),
            ("Scheduler:FlowControl:Keys:1:RateWindow", "00:01:00"),
            ("Scheduler:FlowControl:Handlers:monk:0:Key", "upload:{payload.upload}"));

        Assert.Empty(options.Validate());
        Assert.Equal(4, options.FlowControl.SettingsOf("dbhost:pg1")!.Limit);
        Assert.Equal(new RateLimit(60, TimeSpan.FromMinutes(1)), options.FlowControl.SettingsOf("api:scanoss")!.Rate);
        var request = options.FlowControl.AddDefaults(new JobRequest { Handler = "monk", Payload = [.. Encoding.UTF8.GetBytes("""{"upload": 4711}""")] });
        Assert.Equal([new ConcurrencyKey("upload:4711")], request.Concurrency.ToArray());
    }

    [Theory]
    [InlineData("Scheduler:FlowControl:Keys:0:Limit", "0", "limit 0 of concurrency key 'a:b' is out of range")]
    [InlineData("Scheduler:FlowControl:Keys:0:Rate", "5", "set Rate and RateWindow together")]
    [InlineData("Scheduler:FlowControl:Handlers:monk:0:Key", "upload:{payload}", "uses unknown field '{payload}'")]
    [InlineData("Scheduler:FlowControl:Queues:q:0:Key", "upload:{tenant", "has a '{' without its '}'")]
    public void BadSettings_AreNamed(string key, string value, string message)
    {
        var options = Bind(new[] { ("Scheduler:FlowControl:Keys:0:Key", "a:b"), ("Scheduler:FlowControl:Keys:0:Limit", "1") }
            .Where(s => s.Item1 != key).Append((key, value)).ToArray());

        Assert.Contains(options.Validate(), problem => problem.Contains(message, StringComparison.Ordinal) && problem.StartsWith("Scheduler:FlowControl:", StringComparison.Ordinal));
    }

    [Fact]
    public void Template_WithoutItsField_AddsNoKey()
    {
        var flow = new FlowControlOptions { Handlers = { ["monk"] = [new KeyTemplateOptions { Key = "upload:{payload.upload}" }, new KeyTemplateOptions { Key = "tenant:{tenant}", Limit = 2 }] } };

        var request = flow.AddDefaults(new JobRequest { Handler = "monk", Tenant = "acme", Payload = [.. Encoding.UTF8.GetBytes("""{"other": 1}""")] });

        Assert.Equal([new ConcurrencyKey("tenant:acme", 2)], request.Concurrency.ToArray());
    }
}
