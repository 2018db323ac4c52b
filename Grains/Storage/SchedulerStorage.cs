namespace Scheduler.Storage;

public static class SchedulerStorage
{
    /// <summary>Name of the Orleans grain storage provider the scheduler's grains use.</summary>
    public const string ProviderName = "scheduler";
}
