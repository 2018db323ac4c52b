using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Execution;
using Scheduler.Storage;

namespace Scheduler.Protection;

/// <summary>The durable state of one gate (grain storage state name "gate"). Never renumber the ids.</summary>
[GenerateSerializer, Alias("scheduler.GateState")]
public sealed class GateState
{
    /// <summary>True while paused.</summary>
    [Id(0)] public bool Paused { get; set; }
    /// <summary>Why it was paused.</summary>
    [Id(1)] public string? Reason { get; set; }
    /// <summary>When it was paused.</summary>
    [Id(2)] public DateTimeOffset? Since { get; set; }
}

/// <summary>
/// One gate (see <see cref="IGateGrain"/>). A held job is not recorded here: it stays Queued in its row and left its
/// queue, so resuming asks the covered queues' shards to reload their Queued rows (<see cref="IQueueShardGrain.Reload"/>),
/// which brings every held job back in its queue order, after a restart too. Claims and resume are serialised here, so
/// a job is either held before the resume (and reloaded by it) or granted after it.
/// </summary>
public sealed partial class GateGrain(
    [PersistentState(GateGrain.StateName, SchedulerStorage.ProviderName)] IPersistentState<GateState> state,
    IJobStore store,
    JobHandlerRegistry handlers,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<GateGrain> logger) : Grain, IGateGrain
{
    /// <summary>The grain storage state name (unique, so no other grain type shares its rows).</summary>
    public const string StateName = "gate";

    /// <summary>Most jobs one <see cref="Drop"/> call cancels.</summary>
    public const int MaxDropBatch = 1000;

    private readonly HashSet<JobId> _held = [];

    private string Target => this.GetPrimaryKeyString();

    public async Task<GateStatus> Pause(string? reason)
    {
        await CheckTargetAsync();
        if (reason is { Length: > 1000 })
            throw new ArgumentException($"reason is {reason.Length} characters; the limit is 1000", nameof(reason));
        if (!state.State.Paused || state.State.Reason != reason)
        {
            state.State.Since = state.State.Paused ? state.State.Since : time.GetUtcNow();
            state.State.Paused = true;
            state.State.Reason = string.IsNullOrWhiteSpace(reason) ? null : reason;
            try
            {
                await WriteAsync();
            }
            catch
            {
                // Claims interleave: jobs held meanwhile by a pause that was not stored go back to their queues.
                state.State.Paused = false;
                await HeldJobs.ReloadAsync(GrainFactory, options.Value, QueuesCovered());
                throw;
            }
        }
        await GrainFactory.GetGrain<IHoldDirectoryGrain>(0).SetGate(Target, true);
        LogPaused(logger, Target, reason);
        return Status();
    }

    public async Task<GateStatus> Resume()
    {
        CheckTargetForm();
        var held = _held.Count;
        if (state.State.Paused)
        {
            state.State.Paused = false;
            state.State.Reason = null;
            state.State.Since = null;
            await WriteAsync();
        }
        await GrainFactory.GetGrain<IHoldDirectoryGrain>(0).SetGate(Target, false);
        _held.Clear();
        // Always, even when it was not paused: a resume whose reload failed half-way is completed by the next one.
        var back = await HeldJobs.ReloadAsync(GrainFactory, options.Value, QueuesCovered());
        LogResumed(logger, Target, held, back);
        return Status();
    }

    public async Task<int> Drop(string? reason, int max)
    {
        await CheckTargetAsync();
        if (max is < 1 or > MaxDropBatch)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"max {max} is out of range: use 1 to {MaxDropBatch}");
        if (reason is { Length: > 1000 })
            throw new ArgumentException($"reason is {reason.Length} characters; the limit is 1000", nameof(reason));
        var why = $"dropped by gate {Target}" + (string.IsNullOrWhiteSpace(reason) ? "" : $": {reason}");
        GateTargets.TryParse(Target, out var kind, out var value, out _);
        IEnumerable<JobId> queued;
        if (kind == GateKind.Workflow)
        {
            var workflow = await GrainFactory.GetGrain<IWorkflowGrain>(WorkflowId.Parse(value).Value).GetStatus();
            var ids = workflow?.Jobs.Where(j => j.JobId is not null).Select(j => j.JobId!.Value).ToList() ?? [];
            var statuses = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IJobGrain>(id.Value).GetStatus()));
            queued = statuses.Where(s => s?.State == JobState.Queued).Select(s => s!.Id).Take(max);
        }
        else
        {
            var filter = new JobFilter
            {
                State = JobState.Queued,
                Limit = max,
                Handler = kind == GateKind.Handler ? value : null,
                Queue = kind == GateKind.Queue ? value : null,
                Tenant = kind == GateKind.Tenant ? value : null,
            };
            queued = (await store.ListAsync(filter)).Select(j => j.Id);
        }
        var outcomes = await Task.WhenAll(queued.Select(id => GrainFactory.GetGrain<IJobGrain>(id.Value).Cancel(why)));
        var dropped = outcomes.Count(o => o == CancelOutcome.Cancelled);
        LogDropped(logger, Target, dropped);
        return dropped;
    }

    public Task<GateStatus> GetStatus() => Task.FromResult(Status());

    public Task<KeyAnswer> Claim(KeyClaim claim)
    {
        if (!state.State.Paused)
            return Task.FromResult(new KeyAnswer { Granted = true });
        _held.Add(claim.Job);
        var reason = $"held by gate {Target}: paused since {state.State.Since:O}" + (state.State.Reason is { } why ? $" ({why})" : "");
        return Task.FromResult(new KeyAnswer { Granted = false, Reason = reason });
    }

    private GateStatus Status() => new()
    {
        Target = Target,
        Paused = state.State.Paused,
        Reason = state.State.Reason,
        Since = state.State.Since,
        Held = _held.Count,
    };

    private void CheckTargetForm()
    {
        if (GateTargets.Problem(Target) is { } problem)
            throw new ArgumentException(problem);
    }

    /// <summary>A target that names nothing this cluster knows (a handler no silo serves, a queue not served, a workflow that does not exist) is refused.</summary>
    private async Task CheckTargetAsync()
    {
        CheckTargetForm();
        GateTargets.TryParse(Target, out var kind, out var value, out _);
        switch (kind)
        {
            case GateKind.Handler when !handlers.Contains(value):
                throw new ArgumentException($"unknown handler '{value}'; the silos serve: {string.Join(", ", handlers.Names)}");
            case GateKind.Queue when !options.Value.Queues.Contains(value):
                throw new ArgumentException($"unknown queue '{value}'; the silos serve: {string.Join(", ", options.Value.Queues)}");
            case GateKind.Workflow when await GrainFactory.GetGrain<IWorkflowGrain>(WorkflowId.Parse(value).Value).GetStatus() is null:
                throw new ArgumentException($"no workflow {value}");
        }
    }

    private IEnumerable<string> QueuesCovered()
    {
        GateTargets.TryParse(Target, out var kind, out var value, out _);
        return kind == GateKind.Queue ? [value] : options.Value.Queues;
    }

    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gate {Target} paused: {Reason}")]
    private static partial void LogPaused(ILogger logger, string target, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gate {Target} resumed: {Held} jobs held in this activation; {Back} jobs back in their queues")]
    private static partial void LogResumed(ILogger logger, string target, int held, int back);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gate {Target}: dropped {Count} queued jobs")]
    private static partial void LogDropped(ILogger logger, string target, int count);
}

/// <summary>Jobs held by a gate or breaker wait in their rows, out of their queues; this brings them back.</summary>
internal static class HeldJobs
{
    /// <summary>Asks every shard of <paramref name="queues"/> to reload its Queued rows; returns how many jobs came back.</summary>
    public static async Task<int> ReloadAsync(IGrainFactory grains, SchedulerOptions options, IEnumerable<string> queues)
    {
        var shards = queues.SelectMany(queue => Enumerable.Range(0, options.ShardsPerQueue).Select(i => SchedulerOptions.ShardKey(queue, i)));
        var added = await Task.WhenAll(shards.Select(shard => grains.GetGrain<IQueueShardGrain>(shard).Reload()));
        return added.Sum();
    }
}
