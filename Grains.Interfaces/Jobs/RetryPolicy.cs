using System.Globalization;

namespace Scheduler;

/// <summary>How the delay before a retry is randomised. Values are sent on the wire: never renumber them.</summary>
[GenerateSerializer, Alias("scheduler.RetryJitter")]
public enum RetryJitter
{
    /// <summary>Exactly the computed delay.</summary>
    None = 0,

    /// <summary>A random delay from zero to the computed delay ("full jitter").</summary>
    Full = 1,

    /// <summary>Half the computed delay, plus a random part of up to the other half ("equal jitter").</summary>
    Equal = 2,
}

/// <summary>
/// How long a job waits before its next attempt after a retriable failure: exponential backoff with jitter,
/// capped. Every setting is optional: a job's policy overrides its handler's, which overrides
/// <see cref="Default"/>, setting by setting. The number of attempts is <see cref="JobLimits.MaxAttempts"/>.
/// A handler that returns <c>JobResult.Retry(reason, after)</c> with a delay overrides the backoff for that retry.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.RetryPolicy")]
public sealed record RetryPolicy
{
    /// <summary>Longest <see cref="InitialDelay"/> and <see cref="MaxDelay"/> accepted: 7 days.</summary>
    public static readonly TimeSpan LongestDelay = TimeSpan.FromDays(7);

    /// <summary>Smallest multiplier accepted: every retry waits the same.</summary>
    public const double MinMultiplier = 1.0;
    /// <summary>Largest multiplier accepted.</summary>
    public const double MaxMultiplier = 10.0;

    /// <summary>
    /// The scheduler's own defaults: 1 s after the first failure, doubling each time, at most 5 minutes, equal jitter
    /// (so the n-th retry waits between half and all of min(1 s × 2^(n−1), 5 min)).
    /// </summary>
    public static RetryPolicy Default { get; } = new()
    {
        InitialDelay = TimeSpan.FromSeconds(1),
        Multiplier = 2.0,
        MaxDelay = TimeSpan.FromMinutes(5),
        Jitter = RetryJitter.Equal,
    };

    /// <summary>Delay before the second attempt (after the first failure), before jitter. Zero retries at once. 0 to 7 days.</summary>
    [Id(0)] public TimeSpan? InitialDelay { get; init; }

    /// <summary>Each further retry waits this many times longer than the one before. 1 (constant) to 10.</summary>
    [Id(1)] public double? Multiplier { get; init; }

    /// <summary>
    /// No computed delay is longer than this (before jitter), nor than <see cref="InitialDelay"/> when that is longer
    /// (e.g. a job's 1 hour initial delay under the default 5 minute cap). 0 to 7 days, not less than <see cref="InitialDelay"/>.
    /// </summary>
    [Id(2)] public TimeSpan? MaxDelay { get; init; }

    /// <summary>
    /// How each computed delay is randomised, so that many jobs failing together do not retry together.
    /// </summary>
    [Id(3)] public RetryJitter? Jitter { get; init; }

    /// <summary>This policy, with each setting it leaves unset taken from <paramref name="fallback"/>.</summary>
    public RetryPolicy Over(RetryPolicy? fallback) => fallback is null ? this : new()
    {
        InitialDelay = InitialDelay ?? fallback.InitialDelay,
        Multiplier = Multiplier ?? fallback.Multiplier,
        MaxDelay = MaxDelay ?? fallback.MaxDelay,
        Jitter = Jitter ?? fallback.Jitter,
    };

    /// <summary>
    /// The wait after failed attempt <paramref name="failedAttempt"/> (1 = the first attempt failed):
    /// min(InitialDelay × Multiplier^(failedAttempt − 1), max(MaxDelay, InitialDelay)), then jittered with <paramref name="random"/>
    /// (a number from 0 inclusive to 1 exclusive). Unset settings are taken from <see cref="Default"/>.
    /// </summary>
    public TimeSpan DelayAfter(int failedAttempt, double random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempt, 1);
        if (!(random >= 0 && random < 1))
            throw new ArgumentOutOfRangeException(nameof(random), random, "must be from 0 (inclusive) to 1 (exclusive)");
        var policy = Over(Default);
        var initial = policy.InitialDelay!.Value.TotalSeconds;
        // A cap below the initial delay (possible when the two come from different levels) does not shorten the first wait.
        var cap = Math.Max(policy.MaxDelay!.Value.TotalSeconds, initial);
        // In doubles, capped before it can overflow: Multiplier^n grows past any cap long before it reaches infinity.
        var nominal = Math.Min(initial * Math.Pow(policy.Multiplier!.Value, failedAttempt - 1), cap);
        if (!double.IsFinite(nominal))
            nominal = cap;
        var seconds = policy.Jitter switch
        {
            RetryJitter.Full => nominal * random,
            RetryJitter.Equal => nominal / 2 + nominal / 2 * random,
            _ => nominal,
        };
        return TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
    }

    /// <summary>What is wrong with this policy, or null when every setting given is in range.</summary>
    public string? Problem() => Problems().Select(p => p.Message).FirstOrDefault();

    /// <summary>Each setting given that is out of range (its property name), with what is wrong; empty when valid.</summary>
    public IEnumerable<(string Setting, string Message)> Problems()
    {
        if (InitialDelay is { } initial && (initial < TimeSpan.Zero || initial > LongestDelay))
            yield return (nameof(InitialDelay), $"retry initial delay {initial} is out of range: use 0 to {LongestDelay.TotalDays:0} days");
        if (MaxDelay is { } max && (max < TimeSpan.Zero || max > LongestDelay))
            yield return (nameof(MaxDelay), $"retry max delay {max} is out of range: use 0 to {LongestDelay.TotalDays:0} days");
        else if (InitialDelay is { } i && MaxDelay is { } m && m < i)
            yield return (nameof(MaxDelay), $"retry max delay {m} is shorter than the initial delay {i}");
        if (Multiplier is { } factor && !(factor >= MinMultiplier && factor <= MaxMultiplier))
            yield return (nameof(Multiplier), string.Create(CultureInfo.InvariantCulture, $"retry multiplier {factor} is out of range: use {MinMultiplier:0.0} to {MaxMultiplier:0.0}"));
        if (Jitter is { } jitter && !Enum.IsDefined(jitter))
            yield return (nameof(Jitter), $"retry jitter {(int)jitter} is not one of {string.Join(", ", Enum.GetNames<RetryJitter>())}");
    }
}
