using Scheduler.Protection;

namespace Scheduler.Tests.Unit;

public sealed class ProtectionOptionsTests
{
    private static List<string> Problems(Action<SchedulerOptions> configure)
    {
        var options = new SchedulerOptions();
        configure(options);
        return [.. options.Validate()];
    }

    [Fact]
    public void Defaults_AreValid_AndTurnNothingOn()
    {
        var options = new SchedulerOptions();
        Assert.Empty(options.Validate());
        Assert.False(options.Backpressure.Enabled);
        Assert.False(options.Breakers.Enabled);
    }

    [Theory]
    [InlineData(0, "Scheduler:Backpressure:MaxQueuedPerQueue must be 1 to 100000000 (was 0)")]
    [InlineData(-5, "Scheduler:Backpressure:MaxQueuedPerQueue must be 1 to 100000000 (was -5)")]
    public void Backpressure_BadQueueBound_IsNamed(int bound, string problem) =>
        Assert.Equal([problem], Problems(o => o.Backpressure.MaxQueuedPerQueue = bound));

    [Fact]
    public void Backpressure_BadNamesBoundsAndInterval_AreNamed()
    {
        var problems = Problems(o =>
        {
            o.Backpressure.Tenants["bad name"] = 5;
            o.Backpressure.Queues["reports"] = 0;
            o.Backpressure.RefreshInterval = TimeSpan.FromMilliseconds(10);
        });
        Assert.Contains("Scheduler:Backpressure:Tenants: 'bad name' is not a valid name (1 to 128 characters of letters, digits, '.', '-' and '_')", problems);
        Assert.Contains("Scheduler:Backpressure:Queues:reports must be 1 to 100000000 (was 0)", problems);
        Assert.Contains("Scheduler:Backpressure:RefreshInterval must be 100 ms to 1 minute (was 00:00:00.0100000)", problems);
    }

    [Fact]
    public void Backpressure_BoundsOfSingleQueuesAndTenants_WinOverTheDefaults()
    {
        var options = new BackpressureOptions { MaxQueuedPerQueue = 100, Queues = { ["reports"] = 5 }, Tenants = { ["acme"] = 7 } };
        Assert.True(options.Enabled);
        Assert.Equal(5, options.BoundOfQueue("reports"));
        Assert.Equal(100, options.BoundOfQueue("default"));
        Assert.Equal(7, options.BoundOfTenant("acme"));
        Assert.Null(options.BoundOfTenant("other"));
    }

    [Fact]
    public void Breakers_BadThresholds_AreNamed()
    {
        var problems = Problems(o =>
        {
            o.Breakers.Handlers["monk"] = new BreakerSettings();
            o.Breakers.Handlers["nomos"] = new BreakerSettings { ConsecutiveFailures = 0, FailureRatio = 1.5, CoolDown = TimeSpan.Zero, MinimumThroughput = 0 };
            o.Breakers.Keys.Add(new KeyBreakerSettings { Key = "bad key", ConsecutiveFailures = 3 });
            o.Breakers.Keys.Add(new KeyBreakerSettings { Key = "api:x", ConsecutiveFailures = 3, Window = TimeSpan.FromMilliseconds(5) });
            o.Breakers.Keys.Add(new KeyBreakerSettings { Key = "api:x", ConsecutiveFailures = 3 });
        });
        Assert.Contains("Scheduler:Breakers:Handlers:monk: give ConsecutiveFailures, FailureRatio or both", problems);
        Assert.Contains("Scheduler:Breakers:Handlers:nomos: ConsecutiveFailures must be 1 to 10000 (was 0)", problems);
        Assert.Contains("Scheduler:Breakers:Handlers:nomos: FailureRatio must be above 0 and at most 1 (was 1.5)", problems);
        Assert.Contains("Scheduler:Breakers:Handlers:nomos: CoolDown must be 1 s to 1 day (was 00:00:00)", problems);
        Assert.Contains("Scheduler:Breakers:Handlers:nomos: MinimumThroughput must be 1 to 100000 (was 0)", problems);
        Assert.Contains(problems, p => p.StartsWith("Scheduler:Breakers:Keys:0: key 'bad key' is not valid", StringComparison.Ordinal));
        Assert.Contains("Scheduler:Breakers:Keys:1 (api:x): Window must be 1 s to 1 day (was 00:00:00.0050000)", problems);
        Assert.Contains("Scheduler:Breakers:Keys:2: key 'api:x' is listed twice", problems);
    }

    [Fact]
    public void Breakers_SettingsOf_FindsHandlersAndKeys()
    {
        var options = new BreakerOptions
        {
            Handlers = { ["monk"] = new BreakerSettings { ConsecutiveFailures = 5 } },
            Keys = { new KeyBreakerSettings { Key = "api:scanoss", FailureRatio = 0.5 } },
        };
        Assert.Equal(5, options.SettingsOf("handler:monk")?.ConsecutiveFailures);
        Assert.Equal(0.5, options.SettingsOf("key:api:scanoss")?.FailureRatio);
        Assert.Null(options.SettingsOf("handler:nomos"));
        Assert.Equal(["handler:monk", "key:api:scanoss"], options.Targets());
        Assert.Equal("5 in a row; cool-down 30 s", options.SettingsOf("handler:monk")!.Describe());
        Assert.Equal("50% of ≥ 10 in 1 min; cool-down 30 s", options.SettingsOf("key:api:scanoss")!.Describe());
    }

    [Theory]
    [InlineData("handler:monk", true)]
    [InlineData("queue:reports", true)]
    [InlineData("tenant:acme", true)]
    [InlineData("workflow:0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80", true)]
    [InlineData("workflow:0191F3C2-7A4E-7C1A-9B1E-2F4C5D6E7F80", false)]
    [InlineData("queue", false)]
    [InlineData(":x", false)]
    [InlineData("key:upload", false)]
    [InlineData("tenant:a b", false)]
    public void GateTargets_AcceptOnlyWellFormedTargets(string target, bool valid) =>
        Assert.Equal(valid, GateTargets.Problem(target) is null);

    [Fact]
    public void GateTargets_MatchTheJobsFields()
    {
        var workflow = WorkflowId.Parse("0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80");
        Assert.True(GateTargets.Matches("handler:monk", "monk", "default", "acme", null));
        Assert.True(GateTargets.Matches("queue:default", "monk", "default", "acme", null));
        Assert.True(GateTargets.Matches("tenant:acme", "monk", "default", "acme", null));
        Assert.True(GateTargets.Matches($"workflow:{workflow}", "monk", "default", "acme", workflow));
        Assert.False(GateTargets.Matches($"workflow:{workflow}", "monk", "default", "acme", null));
        Assert.False(GateTargets.Matches("tenant:acm", "monk", "default", "acme", null));
        Assert.False(GateTargets.Matches("queue:monk", "monk", "default", "acme", null));
    }
}
