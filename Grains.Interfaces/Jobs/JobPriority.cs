namespace Scheduler;

/// <summary>
/// Job priority: an integer from <see cref="Min"/> (0, least urgent) to <see cref="Max"/> (100, most urgent);
/// higher runs first. Jobs of equal priority run in submission order (FIFO). The same scale is used by the
/// independent queue and, for workflows, by the dependent queue.
/// </summary>
public static class JobPriority
{
    public const int Min = 0;
    public const int Max = 100;
    public const int Default = 50;

    public static bool IsValid(int priority) => priority is >= Min and <= Max;
}
