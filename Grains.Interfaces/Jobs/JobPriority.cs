namespace Scheduler;

/// <summary>
/// Job priority: an integer from <see cref="Min"/> (0, least urgent) to <see cref="Max"/> (100, most urgent);
/// higher runs first. Jobs of equal priority run in submission order (FIFO). The same scale is used by the
/// independent queue and, for workflows, by the dependent queue.
/// </summary>
public static class JobPriority
{
    /// <summary>The least urgent priority.</summary>
    public const int Min = 0;
    /// <summary>The most urgent priority.</summary>
    public const int Max = 100;
    /// <summary>The priority of a job that names none.</summary>
    public const int Default = 50;

    /// <summary>True when <paramref name="priority"/> is from <see cref="Min"/> to <see cref="Max"/>.</summary>
    public static bool IsValid(int priority) => priority is >= Min and <= Max;

    /// <summary>What is wrong with <paramref name="priority"/>, as error messages say it.</summary>
    public static string RangeProblem(int priority) => $"priority {priority} is out of range: use {Min} (lowest) to {Max} (highest)";
}
