namespace Scheduler.Client;

/// <summary>Flow control: concurrency keys and rate limits (see docs/flow-control.md).</summary>
public partial interface ISchedulerClient
{
    /// <summary>
    /// Sets a key's concurrency limit and/or rate limit at runtime, across the cluster; it wins over configuration and
    /// jobs' own limits. Refused with a <see cref="SchedulerException"/> (nothing stored) when a value is out of range.
    /// </summary>
    Task<KeyStatus> SetKeyLimitsAsync(string key, KeySettings settings, CancellationToken cancellationToken = default);

    /// <summary>A key's settings, holders, waiters and current rate window (a key nobody used shows none of them).</summary>
    Task<KeyStatus> GetKeyAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every key with settings (from configuration or set at runtime), in key order.</summary>
    Task<IReadOnlyList<KeyStatus>> ListKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// An exclusive scope ("cluster" or "queue:NAME"): its barrier and the exclusive job it is up for, the exclusive
    /// jobs waiting behind it, the jobs held back, and how many jobs of the scope each silo last reported running.
    /// </summary>
    Task<ScopeStatus> GetExclusiveScopeAsync(string scope, CancellationToken cancellationToken = default);
}
