using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Scheduler.Cli.Workflows;
using Scheduler.Client;

namespace Scheduler.Cli.Schedules;

/// <summary>
/// The JSON file of <c>scheduler schedule create</c>: the schedule's id, its trigger (<c>"cron"</c> with an optional
/// <c>"timeZone"</c>, or <c>"every"</c>), its bounds and policies, and its template: a <c>"job"</c> (a command or a
/// handler with a payload, as a workflow file's jobs) or a <c>"workflow"</c> (as a workflow file). Unknown properties
/// are refused, so a misspelt setting is not silently ignored.
/// </summary>
internal static class ScheduleFile
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads a schedule; throws <see cref="UsageException"/> naming the file and what is wrong.</summary>
    public static async Task<ScheduleDefinition> ReadAsync(string path, CancellationToken cancellationToken) =>
        Parse(path, await JsonFile.ReadAsync(path, "schedule", cancellationToken));

    /// <summary>A schedule from JSON; errors name <paramref name="path"/>.</summary>
    public static ScheduleDefinition Parse(string path, ReadOnlySpan<byte> json)
    {
        json = JsonFile.WithoutBom(json);
        FileDto file;
        try
        {
            file = JsonSerializer.Deserialize<FileDto>(json, Options) ?? throw new UsageException($"schedule file '{path}' holds null, not a schedule");
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {e.BytePositionInLine + 1}" : "";
            throw new UsageException($"schedule file '{path}'{where}: {Describe(e)}");
        }

        var at = $"schedule file '{path}'";
        if (string.IsNullOrEmpty(file.Id))
            throw new UsageException($"{at}: \"id\" is missing (e.g. \"nightly-rescan\")");
        if (file.Job is not null == file.Workflow is not null)
            throw new UsageException($"{at}: give a \"job\" or a \"workflow\" to run, one of them");
        if (file.Cron is not null == file.Every is not null)
            throw new UsageException($"{at}: give \"cron\" (with an optional \"timeZone\") or \"every\" (a duration), one of them");
        if (file.Every is not null && file.TimeZone is not null)
            throw new UsageException($"{at}: \"timeZone\" goes with \"cron\"; an \"every\" interval does not depend on it");

        return new ScheduleDefinition
        {
            Id = file.Id,
            Trigger = file.Cron is { } cron
                ? ScheduleTrigger.FromCron(cron, file.TimeZone ?? "UTC")
                : ScheduleTrigger.Every(Duration.ParsePositive($"{at}: every", file.Every!)),
            StartAt = Time(at, "start", file.Start),
            EndAt = Time(at, "end", file.End),
            MaxRuns = file.MaxRuns,
            Jitter = file.Jitter is { } jitter ? Duration.ParsePositive($"{at}: jitter", jitter) : null,
            Overlap = file.Overlap is { } overlap ? Policy<ScheduleOverlapPolicy>(at, "overlap", overlap) : ScheduleOverlapPolicy.Skip,
            Missed = file.Missed is { } missed ? Policy<ScheduleMissedPolicy>(at, "missed", missed) : ScheduleMissedPolicy.FireOnce,
            CatchUpWindow = file.CatchUpWindow is { } window ? Duration.ParsePositive($"{at}: catchUpWindow", window) : null,
            Job = file.Job is { } job ? ToJob($"{at}, job", job) : null,
            Workflow = file.Workflow is { } workflow ? WorkflowFile.ParseDefinition($"{path} (its \"workflow\")", Encoding.UTF8.GetBytes(workflow.GetRawText())) : null,
        };
    }

    private static JobRequest ToJob(string at, JobDto job)
    {
        var isCommand = job.Command is not null;
        if (isCommand == job.Handler is not null)
            throw new UsageException($"{at}: give a \"command\" (executable and arguments) or a \"handler\", one of them");
        if (isCommand && job.Payload is not null)
            throw new UsageException($"{at}: \"payload\" needs \"handler\"; a command's settings are command, env, cwd and fatalExitCodes");
        if (!isCommand && (job.Env is not null || job.Cwd is not null || job.FatalExitCodes is not null))
            throw new UsageException($"{at}: env, cwd and fatalExitCodes describe a command; with \"handler\" put everything in \"payload\"");
        if (isCommand && (job.Command!.Count == 0 || string.IsNullOrWhiteSpace(job.Command[0])))
            throw new UsageException($"{at}: \"command\" must start with the executable, e.g. [\"/bin/sh\", \"-c\", \"echo hi\"]");
        return new JobRequest
        {
            Handler = job.Handler ?? CommandJob.HandlerName,
            Payload = isCommand
                ? SchedulerClientExtensions.ToPayload(new CommandJob
                {
                    Executable = job.Command![0],
                    Arguments = [.. job.Command.Skip(1)],
                    Environment = job.Env ?? [],
                    WorkingDirectory = job.Cwd,
                    FatalExitCodes = job.FatalExitCodes ?? [],
                })
                : job.Payload is { } payload ? [.. JsonSerializer.SerializeToUtf8Bytes(payload)] : [],
            Queue = job.Queue ?? JobRequest.DefaultQueue,
            Tenant = job.Tenant ?? JobRequest.DefaultTenant,
            Priority = job.Priority ?? JobPriority.Default,
            Limits = new JobLimits
            {
                MaxAttempts = job.MaxAttempts,
                Timeout = job.Timeout is { } timeout ? Duration.ParsePositive($"{at}: timeout", timeout) : null,
            },
            // Written as in a workflow file's jobs (docs/flow-control.md); each run takes its keys or waits.
            Concurrency = [.. (job.Keys ?? []).Select(k => k is null
                ? throw new UsageException($"{at}: a key is null")
                : Commands.SubmitCommand.ParseKey(k, $"{at}: key '{k}'"))],
            Exclusive = job.Exclusive is { } exclusive ? Commands.SubmitCommand.ParseExclusive(exclusive, $"{at}: \"exclusive\"") : ExclusiveScope.None,
        };
    }

    private static DateTimeOffset? Time(string at, string name, string? text)
    {
        if (text is null)
            return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new UsageException($"{at}: {name} '{text}' is not a time: use ISO 8601, e.g. 2026-12-07T03:00:00Z or 2026-12-07T03:00:00+01:00");
    }

    private static T Policy<T>(string at, string name, string text) where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(text, out _)
            ? value
            : throw new UsageException($"{at}: {name} '{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}");

    private static string Describe(JsonException e)
    {
        // The parser names its own types; say which setting is wrong in the file's terms.
        if (e.Path is { Length: > 2 } path && e.Message.Contains("could not be mapped", StringComparison.Ordinal))
            return $"unknown setting {path[2..]}: a schedule has id, cron, timeZone, every, start, end, maxRuns, jitter, overlap, missed, catchUpWindow, job and workflow";
        if (e.Path is { Length: > 2 } at)
            return $"{at[2..]} has the wrong type (durations and times are strings, e.g. \"10m\" and \"2026-12-07T03:00:00Z\"; maxRuns, priority and maxAttempts are numbers; keys is a list of strings)";
        return "not a valid schedule (" + e.Message.Split(". Path:")[0].TrimEnd('.') + ")";
    }

    private sealed class FileDto
    {
        public string? Id { get; set; }
        public string? Cron { get; set; }
        public string? TimeZone { get; set; }
        public string? Every { get; set; }
        public string? Start { get; set; }
        public string? End { get; set; }
        public int? MaxRuns { get; set; }
        public string? Jitter { get; set; }
        public string? Overlap { get; set; }
        public string? Missed { get; set; }
        public string? CatchUpWindow { get; set; }
        public JobDto? Job { get; set; }
        public JsonElement? Workflow { get; set; }
    }

    private sealed class JobDto
    {
        public List<string>? Command { get; set; }
        public Dictionary<string, string>? Env { get; set; }
        public string? Cwd { get; set; }
        public List<int>? FatalExitCodes { get; set; }
        public string? Handler { get; set; }
        public JsonElement? Payload { get; set; }
        public string? Queue { get; set; }
        public string? Tenant { get; set; }
        public int? Priority { get; set; }
        public int? MaxAttempts { get; set; }
        public string? Timeout { get; set; }
        public List<string?>? Keys { get; set; }
        public string? Exclusive { get; set; }
    }
}
