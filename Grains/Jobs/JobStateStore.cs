using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Scheduler.Jobs;

/// <summary>
/// A job grain's state and its reads and writes, straight through the job grain storage (<see cref="Storage.JobGrainStorage"/>),
/// in place of Orleans' <c>[PersistentState]</c> bridge: one job grain is activated, written three times and deactivated
/// per job, and the bridge's per-activation setup (a lifecycle and a migration participant, created by reflection) and its
/// queue of storage operations were a tenth of a job's processor time. A job grain writes one at a time (its writes are
/// in non-interleaved turns) and never migrates with its state (a new activation reads its row), so neither is needed.
/// Failures surface as the bridge's did: logged, and wrapped in an <see cref="OrleansException"/> unless they are one.
/// </summary>
internal sealed partial class JobStateStore(IGrainStorage storage, GrainId grainId, ILogger logger) : IGrainState<JobGrainState>
{
    private JobGrainState _state = new();

    [AllowNull]
    public JobGrainState State { get => _state; set => _state = value ?? new(); }

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }

    public async Task ReadAsync()
    {
        try
        {
            await storage.ReadStateAsync(Storage.JobGrainStorage.StateName, grainId, this);
        }
        catch (Exception e)
        {
            throw Failed(e, "read");
        }
    }

    public async Task WriteAsync()
    {
        try
        {
            await storage.WriteStateAsync(Storage.JobGrainStorage.StateName, grainId, this);
        }
        catch (Exception e)
        {
            throw Failed(e, "write");
        }
    }

    private Exception Failed(Exception e, string operation)
    {
        LogFailed(logger, e, operation, grainId);
        return e as OrleansException ?? new OrleansException($"job grain storage failed to {operation} the state of {grainId}: {e.Message}", e);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job grain storage failed to {Operation} the state of {GrainId}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string operation, GrainId grainId);
}
