using System.CommandLine;
using System.Globalization;

namespace Scheduler.Cli;

/// <summary>
/// When a delayed job or workflow is due, on the command line: <c>--at</c> an ISO 8601 time with <c>Z</c> or an offset,
/// or <c>--in</c> a duration from now (see <see cref="Duration"/>), and for a reschedule <c>--now</c>.
/// </summary>
internal static class DueTime
{
    public const string AtHelp = "an ISO 8601 time with Z or an offset, e.g. 2026-12-07T03:00:00Z or 2026-12-07T04:00:00+01:00";

    public static Option<string> AtOption(string what) =>
        new("--at") { Description = $"Start {what} no earlier than this time: {AtHelp}. A time already past: at once.", HelpName = "time" };

    public static Option<string> InOption(string what) =>
        new("--in") { Description = $"Start {what} no earlier than this long from now: {Duration.Help}.", HelpName = "duration" };

    /// <summary>The due time given by <c>--at</c> or <c>--in</c>, or null when neither is; throws a <see cref="UsageException"/> for bad input.</summary>
    public static DateTimeOffset? Read(string? at, string? inText, DateTimeOffset now)
    {
        if (at is not null && inText is not null)
            throw new UsageException("give --at or --in, not both");
        DateTimeOffset? due = at is not null ? ParseAt(at)
            : inText is not null ? now + Duration.ParseNonNegative("--in", inText)
            : null;
        if (RequestValidation.NotBeforeProblem(due) is { } problem)
            throw new UsageException(problem);
        return due;
    }

    /// <summary>An absolute time that says which one: a time without <c>Z</c> or an offset is refused, not guessed.</summary>
    public static DateTimeOffset ParseAt(string text)
    {
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed)
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
            throw new UsageException($"--at '{text}' is not {AtHelp}");
        if (parsed.Kind == DateTimeKind.Unspecified)
            throw new UsageException($"--at '{text}' has no time zone: add Z for UTC (e.g. {text.Trim()}Z) or an offset such as +01:00");
        return value;
    }

    /// <summary>"2026-12-07T03:00:00Z (in 4h 12m)", or "(2m 5s ago)" for a time already past.</summary>
    public static string Describe(DateTimeOffset due, DateTimeOffset now)
    {
        var at = due.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var left = due - now;
        return left >= TimeSpan.Zero ? $"{at} (in {Span(left)})" : $"{at} ({Span(-left)} ago)";
    }

    // The two largest units, rounded down: "4h 12m", "3d 2h", "45s".
    private static string Span(TimeSpan span)
    {
        if (span.TotalSeconds < 1)
            return "under 1s";
        (long Amount, string Unit)[] parts = [((long)span.TotalDays, "d"), (span.Hours, "h"), (span.Minutes, "m"), (span.Seconds, "s")];
        var first = Array.FindIndex(parts, p => p.Amount > 0);
        return string.Join(' ', parts.Skip(first).Take(2).Where(p => p.Amount > 0).Select(p => $"{p.Amount}{p.Unit}"));
    }
}
