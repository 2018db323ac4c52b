namespace Scheduler;

/// <summary>
/// Where a job is in its life. Values are stored and sent on the wire: never renumber them.
/// </summary>
[GenerateSerializer, Alias("scheduler.JobState")]
public enum JobState
{
    /// <summary>Accepted and waiting in its queue for a worker.</summary>
    Queued = 1,

    /// <summary>An attempt is executing on a worker.</summary>
    Running = 2,

    /// <summary>Final: the handler reported success.</summary>
    Succeeded = 3,

    /// <summary>Final: a fatal outcome, or the last allowed attempt failed.</summary>
    Failed = 4,

    /// <summary>Final: cancelled before it ran to an outcome.</summary>
    Cancelled = 5,
}

/// <summary>Rules about job states.</summary>
public static class JobStates
{
    /// <summary>True for the states a job never leaves on its own: Succeeded, Failed and Cancelled.</summary>
    public static bool IsFinal(this JobState state) =>
        state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>
    /// The legal transitions. Anything else is a bug or a stale message and is rejected by the job grain.
    /// </summary>
    public static bool CanMove(JobState from, JobState to) => (from, to) switch
    {
        (JobState.Queued, JobState.Running) => true,
        (JobState.Queued, JobState.Cancelled) => true,
        (JobState.Running, JobState.Succeeded) => true,
        (JobState.Running, JobState.Failed) => true,
        (JobState.Running, JobState.Queued) => true, // retriable outcome with attempts left, or an abandoned attempt
        (JobState.Running, JobState.Cancelled) => true,
        (JobState.Failed, JobState.Queued) => true, // requeued from the dead-letter queue, only on request
        _ => false,
    };

    /// <summary>Parses a state name, ignoring case; numbers are refused.</summary>
    public static bool TryParse(string? text, out JobState state) =>
        Enum.TryParse(text, ignoreCase: true, out state) && Enum.IsDefined(state);
}
