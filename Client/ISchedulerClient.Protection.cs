namespace Scheduler.Client;

/// <summary>Protecting the system: gates and circuit breakers (see docs/protection.md).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Pauses the gate of <paramref name="target"/> ("handler:NAME", "queue:NAME", "tenant:NAME" or "workflow:ID")
    /// across the cluster: the jobs it covers stay queued and do not start, and their status says so. Takes effect on
    /// every silo before it returns. Refused with a <see cref="SchedulerException"/> (nothing changed) for a malformed
    /// target or one no silo knows.
    /// </summary>
    Task<GateStatus> PauseGateAsync(string target, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Resumes a gate: its held jobs go back to their queues, in their order.</summary>
    Task<GateStatus> ResumeGateAsync(string target, CancellationToken cancellationToken = default);

    /// <summary>Cancels every queued job the gate's target covers, with the reason; returns how many. The gate's state is left as it is.</summary>
    Task<long> DropGateAsync(string target, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>The paused gates, in target order.</summary>
    Task<IReadOnlyList<GateStatus>> ListGatesAsync(CancellationToken cancellationToken = default);

    /// <summary>Every configured circuit breaker's state and counts.</summary>
    Task<IReadOnlyList<BreakerStatus>> ListBreakersAsync(CancellationToken cancellationToken = default);

    /// <summary>One breaker's state and counts ("handler:NAME" or "key:KEY").</summary>
    Task<BreakerStatus> GetBreakerAsync(string target, CancellationToken cancellationToken = default);

    /// <summary>Closes a breaker and forgets its counts; its held jobs go back to their queues. Refused for a breaker that is not configured.</summary>
    Task<BreakerStatus> ResetBreakerAsync(string target, CancellationToken cancellationToken = default);
}
