namespace Scheduler.Schedules;

/// <summary>A schedule grain's state, as stored in its row of <c>scheduler_schedules</c>.</summary>
[GenerateSerializer, Alias("scheduler.ScheduleGrainState")]
public sealed class ScheduleGrainState
{
    /// <summary>The definition as last created or updated.</summary>
    [Id(0)] public ScheduleDefinition Definition { get; set; } = null!;

    /// <summary>When the schedule was created: part of every run id, kept across updates.</summary>
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>True while paused.</summary>
    [Id(2)] public bool Paused { get; set; }

    /// <summary>The note of the last pause or resume.</summary>
    [Id(3)] public string? Note { get; set; }

    /// <summary>Every scheduled occurrence up to this time has been handled (fired, skipped or dropped as missed).</summary>
    [Id(4)] public DateTimeOffset HandledUntil { get; set; }

    /// <summary>Runs started so far.</summary>
    [Id(5)] public long RunCount { get; set; }

    /// <summary>The last runs, oldest first, at most <see cref="ScheduleIds.MaxRunsKept"/>.</summary>
    [Id(6)] public List<ScheduleRun> Runs { get; set; } = [];
}
