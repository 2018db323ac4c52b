namespace Scheduler.Storage;

public static class SchedulerStorage
{
    /// <summary>
    /// Name of the Orleans grain storage provider: the default provider of every profile, and where job and
    /// workflow state lived before Scheduler's own rows held it (see <see cref="LegacyState"/>).
    /// </summary>
    public const string ProviderName = "scheduler";
}
