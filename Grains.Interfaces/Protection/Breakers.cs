using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>A circuit breaker's state.</summary>
[GenerateSerializer, Alias("scheduler.BreakerState")]
public enum BreakerState
{
    /// <summary>Jobs start as usual; failures are counted.</summary>
    Closed = 0,
    /// <summary>Too many failures: matching jobs stay queued and do not start until the cool-down ends.</summary>
    Open = 1,
    /// <summary>The cool-down ended: one trial job runs; its outcome closes or opens the breaker again.</summary>
    HalfOpen = 2,
}

/// <summary>Breaker targets: "handler:NAME" or "key:KEY" (a concurrency key).</summary>
public static class BreakerTargets
{
    /// <summary>How a target is written, for error messages.</summary>
    public const string TargetRule = "handler:NAME or key:KEY";

    /// <summary>The breaker target of a handler.</summary>
    public static string OfHandler(string handler) => "handler:" + handler;

    /// <summary>The breaker target of a concurrency key.</summary>
    public static string OfKey(string key) => "key:" + key;

    /// <summary>Why <paramref name="target"/> is not well formed, or null.</summary>
    public static string? Problem(string? target)
    {
        if (target is not null && target.StartsWith("handler:", StringComparison.Ordinal))
            return RequestValidation.IsName(target["handler:".Length..]) ? null : $"breaker target '{target}': the handler is not a name ({RequestValidation.NameRule})";
        if (target is not null && target.StartsWith("key:", StringComparison.Ordinal))
            return FlowKeys.IsKey(target["key:".Length..]) ? null : $"breaker target '{target}': the key is not valid ({FlowKeys.KeyRule})";
        return $"breaker target '{target}' is not valid: use {TargetRule}";
    }
}

/// <summary>One ended attempt, as a silo reports it to the breakers of its handler and keys.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.BreakerOutcome")]
public sealed record BreakerOutcome(
    [property: Id(0)] JobId Job,
    [property: Id(1)] bool Failed,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string? Error);

/// <summary>
/// One circuit breaker, keyed by its target ("handler:monk", "key:api:scanoss"), configured in
/// <c>Scheduler:Breakers</c>. Silos report attempts' outcomes to it in batches. After too many failures it opens:
/// matching jobs stay queued, out of their queues, keeping their attempts, until the cool-down ends; then one trial
/// job runs, and its outcome closes the breaker (the held jobs go back to their queues) or opens it again.
/// </summary>
[Alias("scheduler.IBreakerGrain")]
public interface IBreakerGrain : IGrainWithStringKey
{
    /// <summary>Outcomes of attempts, in the order the reporting silo saw them end.</summary>
    [Alias("Report")]
    Task Report(ImmutableArray<BreakerOutcome> outcomes);

    /// <summary>Asked by a job about to start while its silo believes the breaker open: granted (closed, or the half-open trial) or held.</summary>
    [Alias("Claim")]
    Task<KeyAnswer> Claim(KeyClaim claim);

    /// <summary>Closes the breaker and forgets its counts; held jobs go back to their queues. Refused for a breaker that is not configured.</summary>
    [Alias("Reset")]
    Task<BreakerStatus> Reset();

    /// <summary>The breaker's state and counts, once a change in progress is done (every silo applied an opening).</summary>
    [Alias("GetStatus"), ReadOnly]
    Task<BreakerStatus> GetStatus();
}

/// <summary>A breaker as <c>scheduler breaker list</c> prints it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.BreakerStatus")]
public sealed record BreakerStatus
{
    /// <summary>The target, e.g. "handler:monk".</summary>
    [Id(0)] public required string Target { get; init; }
    /// <summary>Its state.</summary>
    [Id(1)] public BreakerState State { get; init; }
    /// <summary>Failures in a row, as reported.</summary>
    [Id(2)] public int ConsecutiveFailures { get; init; }
    /// <summary>Failures among the outcomes in the current window.</summary>
    [Id(3)] public int WindowFailures { get; init; }
    /// <summary>Outcomes in the current window.</summary>
    [Id(4)] public int WindowOutcomes { get; init; }
    /// <summary>While open: when the cool-down ends and a trial may run.</summary>
    [Id(5)] public DateTimeOffset? OpenUntil { get; init; }
    /// <summary>While half-open: the job running as the trial.</summary>
    [Id(6)] public JobId? Trial { get; init; }
    /// <summary>Why it opened last (the rule and the last error).</summary>
    [Id(7)] public string? Reason { get; init; }
    /// <summary>How often it opened since it was last closed by a reset or a successful trial.</summary>
    [Id(8)] public int Opened { get; init; }
    /// <summary>The settings in force, e.g. "5 in a row or 50% of ≥ 10 in 1 min; cool-down 30 s".</summary>
    [Id(9)] public string? Settings { get; init; }
}
