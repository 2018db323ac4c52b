using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Scheduler.Cli.Workflows;

/// <summary>
/// Errors in a workflow file, told in the file's terms: where (line and column, both counted from 1, and which job)
/// and what is wrong with which setting, instead of the parser's wording with its internal type names.
/// </summary>
internal static partial class WorkflowFile
{
    private static readonly JsonReaderOptions SyntaxOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly string[] FileSettings = SettingsOf(typeof(FileDto));
    private static readonly string[] JobSettings = SettingsOf(typeof(JobDto));

    private static readonly Dictionary<string, string> Expected = new(StringComparer.OrdinalIgnoreCase)
    {
        ["name"] = "a string",
        ["tenant"] = "a string",
        ["priority"] = "a whole number (0 to 100)",
        ["sizeHint"] = "a whole number",
        ["failurePolicy"] = $"a string, one of {PolicyNames}",
        ["jobs"] = "a list of jobs: [ { \"name\": ..., \"command\": [...] }, ... ]",
        ["command"] = "a list of strings: the executable, then its arguments",
        ["env"] = "an object of variable names to string values",
        ["cwd"] = "a string",
        ["fatalExitCodes"] = "a list of whole numbers",
        ["handler"] = "a string",
        ["queue"] = "a string",
        ["maxAttempts"] = "a whole number (1 to 100)",
        ["timeout"] = $"a string: {Duration.Help}",
        ["dependsOn"] = "a list of job names or { \"job\": \"name\", \"policy\": \"RunAnyway\" } objects",
        ["keys"] = "a list of concurrency keys, each \"KEY\" or \"KEY=LIMIT\", e.g. [\"upload:4711\", \"dbhost:pg1=4\"]",
        ["exclusive"] = "a string: queue or cluster (or none)",
    };

    /// <summary>Null if <paramref name="json"/> is well-formed JSON; else where and why it is not.</summary>
    private static string? DescribeSyntax(ReadOnlySpan<byte> json)
    {
        if (json.Trim(" \t\r\n"u8).IsEmpty)
            return " is empty";
        var reader = new Utf8JsonReader(json, SyntaxOptions);
        try
        {
            while (reader.Read())
            {
            }
            return null;
        }
        catch (JsonException e)
        {
            var why = e.Message.StartsWith("Expected depth to be zero", StringComparison.Ordinal)
                ? "the file ends before every { and [ is closed"
                : LocationSuffix().Replace(e.Message, "").TrimEnd('.', ' ');
            return $"{At(json, e)}: not valid JSON ({why})";
        }
    }

    /// <summary>Where and what is wrong with a well-formed file that is not a workflow.</summary>
    private static string DescribeContent(ReadOnlySpan<byte> json, JsonException e)
    {
        var at = At(json, e);
        var segments = PathSegment().Matches(e.Path ?? "$").Select(m => m.Groups["name"].Success ? m.Groups["name"].Value
            : m.Groups["quoted"].Success ? m.Groups["quoted"].Value.Replace("''", "'", StringComparison.Ordinal) : "#" + m.Groups["index"].Value).ToList();

        if (segments.Count == 0)
            return $"{at}: a workflow file is a JSON object such as {{ \"name\": \"upload\", \"jobs\": [...] }}";
        if (!segments[0].Equals("jobs", StringComparison.OrdinalIgnoreCase))
            return $"{at}: {Setting(segments[0], FileSettings, "a workflow's")}";
        if (segments.Count == 1)
            return $"{at}: \"jobs\" must be {Expected["jobs"]}";

        var index = int.Parse(segments[1].AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
        var job = $", job #{index + 1}" + (JobName(json, index) is { } name ? $" ('{name}')" : "");
        if (segments.Count == 2)
            return $"{at}{job}: a job must be an object such as {{ \"name\": \"unpack\", \"command\": [\"/bin/true\"] }}";
        if (e is DependencyException)
            return $"{at}{job}: {e.Message}";
        return $"{at}{job}: {Setting(segments[2], JobSettings, "a job's")}";
    }

    private static string Setting(string name, string[] known, string owner)
    {
        var setting = known.FirstOrDefault(s => s.Equals(name, StringComparison.OrdinalIgnoreCase));
        return setting is null
            ? $"unknown setting \"{name}\" ({owner} settings are {string.Join(", ", known)})"
            : $"\"{setting}\" must be {Expected[setting]}";
    }

    /// <summary>", line L, column C", counted from 1 (the parser counts lines from 0, and bytes, not characters).</summary>
    private static string At(ReadOnlySpan<byte> json, JsonException e)
    {
        if (e.LineNumber is not { } line)
            return "";
        var start = 0;
        for (var seen = 0L; seen < line; seen++)
        {
            var next = json[start..].IndexOf((byte)'\n');
            if (next < 0)
                break;
            start += next + 1;
        }
        var bytes = (int)Math.Min(e.BytePositionInLine ?? 0, json.Length - start);
        return $", line {line + 1}, column {Encoding.UTF8.GetCharCount(json.Slice(start, bytes)) + 1}";
    }

    private static string? JobName(ReadOnlySpan<byte> json, int index)
    {
        try
        {
            var reader = new Utf8JsonReader(json, SyntaxOptions);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.TryGetProperty("jobs", out var jobs) && jobs.ValueKind == JsonValueKind.Array
                && index < jobs.GetArrayLength() && jobs[index].ValueKind == JsonValueKind.Object
                && jobs[index].TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                ? name.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string[] SettingsOf(Type dto) =>
        [.. dto.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name))];

    [GeneratedRegex(@"\s*LineNumber: \d+ \| BytePositionInLine: \d+\.?\s*$")]
    private static partial Regex LocationSuffix();

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathSegment();
}
