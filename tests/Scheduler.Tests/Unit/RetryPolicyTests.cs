using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scheduler.Execution;

namespace Scheduler.Tests.Unit;

/// <summary>The backoff computation (with a fixed random number) and how job, handler and defaults combine.</summary>
public sealed class RetryPolicyTests
{
    private static readonly RetryPolicy NoJitter = new()
    {
        InitialDelay = TimeSpan.FromSeconds(2),
        Multiplier = 3,
        MaxDelay = TimeSpan.FromMinutes(1),
        Jitter = RetryJitter.None,
    };

    [Fact]
    public void DelayAfter_GrowsByTheMultiplier_AndIsCappedByMaxDelay()
    {
        var delays = Enumerable.Range(1, 6).Select(attempt => NoJitter.DelayAfter(attempt, 0.5).TotalSeconds).ToArray();

        Assert.Equal([2, 6, 18, 54, 60, 60], delays);
    }

    [Fact]
    public void DelayAfter_StaysAtMaxDelay_WhenTheExponentWouldOverflow()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), NoJitter.DelayAfter(int.MaxValue, 0));
        Assert.Equal(TimeSpan.FromMinutes(1), (NoJitter with { Multiplier = 10 }).DelayAfter(100_000, 0.3));
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.25, 4.5)]
    [InlineData(0.999999, 17.999982)]
    public void DelayAfter_IsFromZeroToTheComputedDelay_WithFullJitter(double random, double expectedSeconds)
    {
        var delay = (NoJitter with { Jitter = RetryJitter.Full }).DelayAfter(3, random);

        Assert.Equal(expectedSeconds, delay.TotalSeconds, precision: 5);
    }

    [Theory]
    [InlineData(0.0, 9.0)]
    [InlineData(0.5, 13.5)]
    [InlineData(0.999999, 17.999991)]
    public void DelayAfter_IsFromHalfToAllOfTheComputedDelay_WithEqualJitter(double random, double expectedSeconds)
    {
        var delay = (NoJitter with { Jitter = RetryJitter.Equal }).DelayAfter(3, random);

        Assert.Equal(expectedSeconds, delay.TotalSeconds, precision: 5);
    }

    [Fact]
    public void DelayAfter_NeverCapsBelowTheInitialDelay_WhenTheCapComesFromAnotherLevel()
    {
        var job = new RetryPolicy { InitialDelay = TimeSpan.FromHours(1), Jitter = RetryJitter.None };

        // The default cap is 5 minutes; the job's own initial delay is longer, and it wins, without growing.
        Assert.Equal([1.0, 1.0], Enumerable.Range(1, 2).Select(a => job.DelayAfter(a, 0).TotalHours));
    }

    [Fact]
    public void DelayAfter_IsZero_WhenInitialDelayIsZero()
    {
        Assert.Equal(TimeSpan.Zero, (NoJitter with { InitialDelay = TimeSpan.Zero }).DelayAfter(5, 0.7));
    }

    [Fact]
    public void DelayAfter_UsesTheDefaults_ForSettingsLeftUnset()
    {
        var onlyCap = new RetryPolicy { MaxDelay = TimeSpan.FromSeconds(3), Jitter = RetryJitter.None };

        // Default initial delay 1 s, multiplier 2: 1, 2, 4 → capped at 3.
        Assert.Equal([1, 2, 3], Enumerable.Range(1, 3).Select(a => onlyCap.DelayAfter(a, 0).TotalSeconds));
        // The default jitter is equal: after the first failure, from 0.5 s to 1 s.
        Assert.Equal(0.5, RetryPolicy.Default.DelayAfter(1, 0).TotalSeconds, precision: 6);
        Assert.Equal(TimeSpan.FromMinutes(5), RetryPolicy.Default.MaxDelay);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void DelayAfter_Throws_ForAnAttemptBelowOne(int attempt) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => NoJitter.DelayAfter(attempt, 0));

    [Fact]
    public void Over_TakesEachUnsetSettingFromTheFallback()
    {
        var job = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(7) };
        var handler = new RetryPolicy { InitialDelay = TimeSpan.FromHours(1), Multiplier = 5, Jitter = RetryJitter.Full };

        var resolved = job.Over(handler).Over(RetryPolicy.Default);

        Assert.Equal(new RetryPolicy
        {
            InitialDelay = TimeSpan.FromSeconds(7),
            Multiplier = 5,
            MaxDelay = TimeSpan.FromMinutes(5),
            Jitter = RetryJitter.Full,
        }, resolved);
    }

    [Theory]
    [InlineData(-1, null, null, null, "retry initial delay -00:00:01 is out of range: use 0 to 7 days")]
    [InlineData(null, null, 8 * 86400, null, "retry max delay 8.00:00:00 is out of range: use 0 to 7 days")]
    [InlineData(60, null, 10, null, "retry max delay 00:00:10 is shorter than the initial delay 00:01:00")]
    [InlineData(null, 0.5, null, null, "retry multiplier 0.5 is out of range: use 1.0 to 10.0")]
    [InlineData(null, 11.0, null, null, "retry multiplier 11 is out of range: use 1.0 to 10.0")]
    [InlineData(null, double.NaN, null, null, "retry multiplier NaN is out of range")]
    [InlineData(null, null, null, 9, "retry jitter 9 is not one of None, Full, Equal")]
    public void Problem_NamesTheSettingAndTheRule(int? initialSeconds, double? multiplier, int? maxSeconds, int? jitter, string message)
    {
        var policy = new RetryPolicy
        {
            InitialDelay = initialSeconds is { } i ? TimeSpan.FromSeconds(i) : null,
            Multiplier = multiplier,
            MaxDelay = maxSeconds is { } m ? TimeSpan.FromSeconds(m) : null,
            Jitter = (RetryJitter?)jitter,
        };

        Assert.Contains(message, policy.Problem());
    }

    [Fact]
    public void Problem_IsNull_ForTheDefaultsAndAnEmptyPolicy()
    {
        Assert.Null(RetryPolicy.Default.Problem());
        Assert.Null(new RetryPolicy().Problem());
    }

    [Fact]
    public void RequestValidation_RefusesAJobWithAnInvalidRetryPolicy()
    {
        var request = new JobRequest { Handler = "noop", Retry = new RetryPolicy { Multiplier = 0 } };

        var problem = RequestValidation.Check(request, JobRequest.DefaultMaxPayloadBytes);

        Assert.Equal(SchedulerErrorCode.InvalidRequest, problem?.Code);
        Assert.Contains("retry multiplier 0 is out of range", problem?.Message);
    }

    [Fact]
    public void Resolve_TakesTheJobsSettingsOverTheHandlersOverTheDefaults()
    {
        using var services = Registry(o =>
        {
            o.MaxAttempts = 7;
            o.Retry = new RetryPolicy { InitialDelay = TimeSpan.FromMinutes(1), Jitter = RetryJitter.None };
        });
        var registry = services.GetRequiredService<JobHandlerRegistry>();

        var inherited = registry.Resolve(new JobRequest { Handler = "h" });
        var overridden = registry.Resolve(new JobRequest
        {
            Handler = "h",
            Limits = new JobLimits { MaxAttempts = 2 },
            Retry = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(3) },
        });
        var other = registry.Resolve(new JobRequest { Handler = "noop" });

        Assert.Equal(7, inherited.Limits.MaxAttempts);
        Assert.Equal(TimeSpan.FromMinutes(1), inherited.Retry!.InitialDelay);
        Assert.Equal(RetryJitter.None, inherited.Retry.Jitter);
        Assert.Equal(2.0, inherited.Retry.Multiplier);
        Assert.Equal(2, overridden.Limits.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(3), overridden.Retry!.InitialDelay);
        Assert.Equal(RetryJitter.None, overridden.Retry.Jitter);
        Assert.Equal(JobLimits.DefaultMaxAttempts, other.Limits.MaxAttempts);
        Assert.Equal(RetryPolicy.Default, other.Retry);
    }

    [Fact]
    public void HandlerOptions_AreRefusedWithTheSettingsName_WhenOutOfRange()
    {
        using var services = Registry(o =>
        {
            o.MaxAttempts = 0;
            o.Retry = new RetryPolicy { Multiplier = 50 };
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptionsMonitor<JobHandlerOptions>>().Get("h"));

        Assert.Contains("Scheduler:Handlers:h:MaxAttempts must be 1 to 100 (was 0)", error.Failures);
        Assert.Contains(error.Failures, f => f.StartsWith("Scheduler:Handlers:h:Retry:Multiplier: retry multiplier 50 is out of range", StringComparison.Ordinal));
    }

    private static ServiceProvider Registry(Action<JobHandlerOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<JobHandlerRegistry>();
        services.AddJobHandler<NoopJobHandler>("noop");
        services.AddJobHandler<NoopJobHandler>("h", configure);
        return services.BuildServiceProvider();
    }
}
