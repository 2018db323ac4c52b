using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Cli;

/// <summary>How results are printed: text for people, JSON (camelCase, enums as strings, ids as strings) for programs.</summary>
internal static class Output
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Nulls are written, so every object of a kind has the same properties.
        Converters = { new JsonStringEnumConverter(), new JobIdConverter() },
    };

    /// <summary>One value per line (JSON Lines), for streams such as logs.</summary>
    public static readonly JsonSerializerOptions JsonLines = new(Json) { WriteIndented = false };

    public static void WriteJson<T>(TextWriter writer, T value, JsonSerializerOptions? options = null) =>
        writer.WriteLine(JsonSerializer.Serialize(value, options ?? Json));

    public static string Time(DateTimeOffset? value) =>
        value is { } time ? time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    /// <summary>A job's state, with its due time while it waits for one: "Queued, due 2026-12-07T03:00:00Z (in 4h 12m)".</summary>
    public static string State(JobState state, DateTimeOffset? due) =>
        state == JobState.Queued && due is { } at ? $"Queued, due {DueTime.Describe(at, DateTimeOffset.UtcNow)}" : state.ToString();

    public static void WriteStatus(TextWriter writer, JobStatus status)
    {
        (string Name, string Value)[] rows =
        [
            ("id", status.Id.ToString()),
            ("state", State(status.State, status.NextAttemptAt)),
            ("handler", status.Handler),
            ("queue", status.Queue),
            ("priority", status.Priority.ToString(CultureInfo.InvariantCulture)),
            ("tenant", status.Tenant),
            ("attempt", $"{status.Attempt}/{status.MaxAttempts}"),
            ("created", Time(status.CreatedAt)),
            ("started", Time(status.StartedAt)),
            ("finished", Time(status.FinishedAt)),
            ("silo", status.Silo ?? "-"),
            ("last error", status.LastError ?? "-"),
        ];
        if (status.DeadLetterReason is { } reason)
            rows = [.. rows, ("dead letter", reason.ToString())];
        if (status.WaitingFor is { } waiting)
            rows = [.. rows, ("waiting", waiting)];
        if (status.IdempotencyKey is { } key)
            rows = [.. rows, ("idempotency key", key)];
        var width = rows.Max(r => r.Name.Length) + 1;
        foreach (var (name, value) in rows)
            writer.WriteLine($"{(name + ":").PadRight(width)} {value}");
    }

    /// <summary>One transition on one line: time, state, attempt, silo and reason.</summary>
    public static string Transition(JobTransition t) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{t.Timestamp:yyyy-MM-dd HH:mm:ss.fff}Z  {t.State,-9}  attempt {t.Attempt}  {t.Silo ?? "-"}  {t.Reason ?? ""}").TrimEnd();

    /// <summary>Left-aligned columns separated by two spaces; the last column is not padded.</summary>
    public static void WriteTable(TextWriter writer, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(Line(headers));
        foreach (var row in rows)
            writer.WriteLine(Line(row));

        string Line(IReadOnlyList<string> cells) =>
            string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
    }

    private sealed class JobIdConverter : JsonConverter<JobId>
    {
        public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JobId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("not a job id");

        public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}
