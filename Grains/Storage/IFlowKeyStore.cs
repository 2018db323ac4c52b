namespace Scheduler.Storage;

/// <summary>
/// Concurrency key rows: each holds a key grain's state (serialized, versioned): its runtime settings, holders,
/// waiters and rate log. Every method returns only once its change is durable.
/// </summary>
public interface IFlowKeyStore
{
    /// <summary>
    /// Inserts or updates key rows. Version 1 creates a row (and conflicts with any existing one); a higher version is
    /// written only over the version before it. Returns the keys of records not written for that reason.
    /// </summary>
    Task<IReadOnlyList<string>> SaveFlowKeysAsync(IReadOnlyList<FlowKeyRecord> records, CancellationToken cancellationToken = default);

    /// <summary>The stored state of each key that has a row (keys without one are left out).</summary>
    Task<IReadOnlyDictionary<string, StoredFlowKey>> ReadFlowKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);
}

/// <summary>One key grain state write.</summary>
public sealed record FlowKeyRecord(string Key, int Version, byte[] Data);

/// <summary>A key grain's state as stored.</summary>
public sealed record StoredFlowKey(int Version, byte[] Data);
