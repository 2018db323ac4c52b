using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Cli.Workflows;

/// <summary>How a workflow is printed: a summary, then its jobs as a table indented like a tree (children under parents).</summary>
internal static class WorkflowOutput
{
    public static readonly JsonSerializerOptions Json = new(Output.Json) { Converters = { new WorkflowIdConverter() } };

    public static void WriteStatus(TextWriter writer, WorkflowStatus status)
    {
        (string Name, string Value)[] rows =
        [
            ("workflow", status.Id.ToString()),
            ("name", status.Name ?? "-"),
            ("state", status.NotBefore is { } due ? $"{status.State}, due {DueTime.Describe(due, DateTimeOffset.UtcNow)}" : status.State.ToString()),
            ("tenant", status.Tenant),
            ("priority", status.Priority.ToString(CultureInfo.InvariantCulture) + (status.SizeHint > 0 ? $" (size hint {status.SizeHint})" : "")),
            ("on failure", status.FailurePolicy.ToString()),
            ("created", Output.Time(status.CreatedAt)),
            ("started", Output.Time(status.StartedAt)),
            ("finished", Output.Time(status.FinishedAt)),
            ("reason", status.Reason ?? "-"),
            ("jobs", Counts(status)),
        ];
        var width = rows.Max(r => r.Name.Length) + 1;
        foreach (var (name, value) in rows)
            writer.WriteLine($"{(name + ":").PadRight(width)} {value}");
        writer.WriteLine();

        // Depth: the longest chain of parents above a job (jobs come parents first).
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var job in status.Jobs)
            depth[job.Name] = job.DependsOn.IsDefaultOrEmpty ? 0 : job.DependsOn.Max(p => depth.GetValueOrDefault(p)) + 1;
        Output.WriteTable(writer,
            ["JOB", "STATE", "RUN", "ATTEMPT", "STARTED", "FINISHED", "AFTER"],
            [.. status.Jobs.Select(j => (IReadOnlyList<string>)
            [
                new string(' ', 2 * Math.Min(depth[j.Name], 20)) + j.Name,
                j.State.ToString(),
                j.Run.ToString(CultureInfo.InvariantCulture),
                j.Attempt == 0 ? "-" : j.Attempt.ToString(CultureInfo.InvariantCulture),
                Clock(j.StartedAt),
                Clock(j.FinishedAt),
                j.DependsOn.IsDefaultOrEmpty ? "-" : string.Join(", ", j.DependsOn),
            ])]);

        var problems = status.Jobs.Where(j => j.LastError is not null && j.State is not (WorkflowJobState.Succeeded or WorkflowJobState.Queued or WorkflowJobState.Running)).ToList();
        if (problems.Count > 0)
        {
            writer.WriteLine();
            foreach (var job in problems)
                writer.WriteLine($"{job.Name}: {job.LastError}");
        }
    }

    /// <summary>A job's time of day with milliseconds (UTC); the dates are in the workflow's summary.</summary>
    private static string Clock(DateTimeOffset? value) =>
        value is { } time ? time.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-";

    /// <summary>"7: 2 Succeeded, 1 Running, 4 Waiting" in the order of the states.</summary>
    public static string Counts(WorkflowStatus status) =>
        $"{status.Jobs.Length}: " + string.Join(", ", status.Counts.OrderBy(c => c.Key).Select(c => $"{c.Value} {c.Key}"));

    public static WorkflowId ParseId(string? text) =>
        WorkflowId.TryParse(text, out var id)
            ? id
            : throw new UsageException($"'{text}' is not a workflow id (expected a GUID such as 0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80)");

    private sealed class WorkflowIdConverter : JsonConverter<WorkflowId>
    {
        public override WorkflowId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            WorkflowId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("not a workflow id");

        public override void Write(Utf8JsonWriter writer, WorkflowId value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}
