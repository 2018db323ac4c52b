using Microsoft.Extensions.Logging;

namespace Scheduler.Schedules;

public sealed partial class ScheduleGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId}: stored (new: {Created})")]
    private static partial void LogUpserted(ILogger logger, string scheduleId, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId}: deleted")]
    private static partial void LogDeleted(ILogger logger, string scheduleId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Schedule {ScheduleId}: occurrence {Occurrence:O} fired as run {RunId} ({Outcome})")]
    private static partial void LogFired(ILogger logger, string scheduleId, DateTimeOffset occurrence, Guid runId, SubmitOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId}: {Count} missed occurrences dropped (missed policy {Policy})")]
    private static partial void LogMissed(ILogger logger, string scheduleId, int count, ScheduleMissedPolicy policy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId}: firing failed; trying again shortly")]
    private static partial void LogFireFailed(ILogger logger, Exception exception, string scheduleId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId}: following run {RunId} failed ({Failures} in a row); trying again shortly")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string scheduleId, Guid runId, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId}: run {RunId} of {Occurrence:O} was lost before it started; submitting it again")]
    private static partial void LogRunLost(ILogger logger, string scheduleId, Guid runId, DateTimeOffset occurrence);
}
