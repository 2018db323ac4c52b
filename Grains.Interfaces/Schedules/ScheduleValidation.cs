using System.Collections.Immutable;
using Cronos;

namespace Scheduler;

/// <summary>
/// The rules a schedule must meet before anything of it is stored, applied alike by the SDK, the CLI and the silo.
/// Pure: no silo needed. Each message says what to fix.
/// </summary>
public static class ScheduleValidation
{
    /// <summary>Shortest interval of a fixed-interval trigger.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    /// <summary>Longest jitter.</summary>
    public static readonly TimeSpan MaxJitter = TimeSpan.FromHours(1);

    /// <summary>Catch-up window of <see cref="ScheduleMissedPolicy.FireAll"/> when none is given.</summary>
    public static readonly TimeSpan DefaultCatchUpWindow = TimeSpan.FromHours(1);

    /// <summary>Longest pause or resume note.</summary>
    public const int MaxNoteLength = 1000;

    private static readonly string[] FieldNames = ["second", "minute", "hour", "day of month", "month", "day of week"];
    private static readonly string[] FieldRules =
    [
        "0-59", "0-59", "0-23", "1-31 (or L, W)", "1-12 or JAN-DEC", "0-6 or SUN-SAT (or L, #)",
    ];

    /// <summary>Checks a whole definition; empty when it is well-formed.</summary>
    public static ImmutableArray<RequestError> Check(ScheduleDefinition definition, int maxPayloadBytes)
    {
        if (definition is null)
            return [Error("schedule is null")];
        var errors = ImmutableArray.CreateBuilder<RequestError>();
        if (!IsId(definition.Id))
            errors.Add(Error($"schedule id '{definition.Id}' is not a valid name ({RequestValidation.NameRule})"));

        switch (definition.Job, definition.Workflow)
        {
            case (null, null):
                errors.Add(Error("a schedule needs a template: set a job or a workflow"));
                break;
            case (not null, not null):
                errors.Add(Error("a schedule runs a job or a workflow, not both: remove one of them"));
                break;
            case ({ } job, null):
                if (RequestValidation.Check(job, maxPayloadBytes) is { } problem)
                    errors.Add(new RequestError(-1, problem.Code, $"job template: {problem.Message}"));
                if (job.Id is not null || job.IdempotencyKey is not null)
                    errors.Add(Error("job template: remove its id and idempotency key (each run's id is derived from the schedule and the occurrence)"));
                break;
            case (null, { } workflow):
                foreach (var error in WorkflowValidation.Check(workflow, maxPayloadBytes))
                    errors.Add(error with { Message = $"workflow template: {error.Message}" });
                if (workflow.Id is not null)
                    errors.Add(Error("workflow template: remove its id (each run's id is derived from the schedule and the occurrence)"));
                break;
        }

        if (definition.Trigger is not { } trigger)
            errors.Add(Error("a schedule needs a trigger: a cron expression or an interval"));
        else
            CheckTrigger(trigger, errors);

        if (definition.StartAt is { } start && definition.EndAt is { } end && end <= start)
            errors.Add(Error($"end {end:O} is not after start {start:O}: set the end after the start, or leave one out"));
        if (definition.MaxRuns is < 1)
            errors.Add(Error($"max runs {definition.MaxRuns} must be 1 or more (leave it out for no limit)"));
        if (definition.Jitter is { } jitter && (jitter < TimeSpan.Zero || jitter > MaxJitter))
            errors.Add(Error($"jitter {jitter} is out of range: use 0 to {MaxJitter}"));
        if (!Enum.IsDefined(definition.Overlap))
            errors.Add(Error($"overlap policy {(int)definition.Overlap} is not one of {string.Join(", ", Enum.GetNames<ScheduleOverlapPolicy>())}"));
        if (!Enum.IsDefined(definition.Missed))
            errors.Add(Error($"missed policy {(int)definition.Missed} is not one of {string.Join(", ", Enum.GetNames<ScheduleMissedPolicy>())}"));
        if (definition.CatchUpWindow is { } window && window <= TimeSpan.Zero)
            errors.Add(Error($"catch-up window {window} must be positive"));
        return errors.ToImmutable();
    }

    /// <summary>True when <paramref name="id"/> can name a schedule (<see cref="RequestValidation.NameRule"/>).</summary>
    public static bool IsId(string? id) => RequestValidation.IsName(id);

    /// <summary>Null when <paramref name="note"/> is acceptable as a pause or resume note; else what is wrong.</summary>
    public static string? CheckNote(string? note) =>
        note is { Length: > MaxNoteLength } ? $"note is {note.Length} characters; the limit is {MaxNoteLength}" : null;

    /// <summary>The time zone of an IANA name (or "UTC"); null when there is none such here.</summary>
    public static TimeZoneInfo? FindZone(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            return null;
        if (name is "UTC" or "Etc/UTC")
            return TimeZoneInfo.Utc;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>Parses a cron expression of 5 fields, or 6 with seconds first; throws <see cref="CronFormatException"/>.</summary>
    public static CronExpression ParseCron(string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return CronExpression.Parse(string.Join(' ', fields), fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
    }

    /// <summary>
    /// Null when <paramref name="text"/> is a valid cron expression; else which field is wrong and what it takes.
    /// Cronos says only that the format is invalid, so each field is tried alone with wildcards around it.
    /// </summary>
    public static string? CheckCron(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return "cron expression is empty: give 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first";
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (fields is [{ } macro] && macro.StartsWith('@'))
            return TryParse(macro, CronFormat.Standard) ? null : $"cron macro '{macro}' is unknown: use @yearly, @monthly, @weekly, @daily, @hourly or @every_minute";
        if (fields.Length is not (5 or 6))
            return $"cron expression '{text}' has {fields.Length} fields: give 5 (minute hour day-of-month month day-of-week) or 6 with seconds first";
        var format = fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        if (TryParse(string.Join(' ', fields), format))
            return null;
        var offset = fields.Length == 6 ? 0 : 1;
        for (var i = 0; i < fields.Length; i++)
        {
            var probe = fields.Select((f, j) => j == i ? f : "*");
            if (!TryParse(string.Join(' ', probe), format))
            {
                var field = i + offset;
                return $"cron field {i + 1} ({FieldNames[field]}) is '{fields[i]}': use {FieldRules[field]}, a list (1,5), a range (1-5), a step (*/2) or *";
            }
        }
        return $"cron expression '{text}' is invalid: its fields do not go together (e.g. a day of month and a day of week both given with '?')";
    }

    private static bool TryParse(string text, CronFormat format)
    {
        try
        {
            CronExpression.Parse(text, format);
            return true;
        }
        catch (CronFormatException)
        {
            return false;
        }
    }

    private static void CheckTrigger(ScheduleTrigger trigger, ImmutableArray<RequestError>.Builder errors)
    {
        if (trigger.Cron is null == trigger.Interval is null)
        {
            errors.Add(Error("a trigger needs a cron expression or an interval, not both and not neither"));
            return;
        }
        if (trigger.Cron is { } cron && CheckCron(cron) is { } cronProblem)
            errors.Add(Error(cronProblem));
        if (trigger.Interval is { } interval && interval < MinInterval)
            errors.Add(Error($"interval {interval} is under 1 second: use 1 s or more"));
        if (FindZone(trigger.TimeZone) is null)
            errors.Add(Error($"unknown time zone '{trigger.TimeZone}': use an IANA name such as Europe/Berlin, America/New_York or UTC"));
    }

    private static RequestError Error(string message) => new(-1, SchedulerErrorCode.InvalidRequest, message);
}
