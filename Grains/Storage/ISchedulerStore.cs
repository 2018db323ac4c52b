namespace Scheduler.Storage;

/// <summary>
/// Everything Scheduler keeps in its own tables, as one object: what a storage profile provides and a decorator
/// wraps. Consumers take only the part they use (<see cref="IJobStore"/>, <see cref="IJobLogStore"/>,
/// <see cref="IDeadLetterStore"/>, <see cref="IWorkflowStore"/>, <see cref="IScheduleStore"/>,
/// <see cref="IRetentionStore"/>, <see cref="IFlowKeyStore"/>).
/// </summary>
public interface ISchedulerStore : IJobStore, IJobLogStore, IDeadLetterStore, IWorkflowStore, IScheduleStore, IRetentionStore, IFlowKeyStore;
