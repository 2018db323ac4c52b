using System.Collections.Immutable;
using Orleans.Concurrency;
using Orleans.Serialization;
using Scheduler.Storage;

namespace Scheduler.Schedules;

/// <summary>Lists schedules from their rows, on the silo that is asked (a stateless worker: no hot grain).</summary>
[StatelessWorker, Reentrant]
public sealed class ScheduleDirectoryGrain(IScheduleStore store, Serializer serializer) : Grain, IScheduleDirectoryGrain
{
    /// <summary>Most schedules one listing returns.</summary>
    public const int MaxLimit = 1000;

    public async Task<ImmutableArray<ScheduleSummary>> List(string? after, int limit)
    {
        if (limit is < 1 or > MaxLimit)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"limit {limit} is out of range: use 1 to {MaxLimit}");
        var rows = await store.ListSchedulesAsync(after, limit);
        return [.. rows.Select(row => Summary(row.Id, serializer.Deserialize<ScheduleGrainState>(row.Data)!))];
    }

    private static ScheduleSummary Summary(string id, ScheduleGrainState state)
    {
        var clock = ScheduleClock.Of(state.Definition, state.CreatedAt);
        return new ScheduleSummary
        {
            Id = id,
            Trigger = state.Definition.Trigger,
            Paused = state.Paused,
            RunCount = state.RunCount,
            LastRun = state.Runs.Count > 0 ? state.Runs[^1] : null,
            IsWorkflow = state.Definition.Workflow is not null,
            Ended = state.Definition.MaxRuns is { } max && state.RunCount >= max || clock.NextAfter(state.HandledUntil) is null,
        };
    }
}
