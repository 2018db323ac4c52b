using System.Globalization;

namespace Scheduler.Cli;

/// <summary>
/// Durations on the command line: a number with a unit (<c>500ms</c>, <c>90s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>,
/// decimals allowed) or a TimeSpan with a colon (<c>00:05:00</c>, <c>1.02:00:00</c>). A bare number is refused,
/// because "300" is read as seconds by some tools and as days by TimeSpan.
/// </summary>
internal static class Duration
{
    public const string Help = "a duration such as 90s, 5m, 2h, 1d or 00:05:00";

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        text = text.Trim();
        if (text.Contains(':'))
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);

        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)];
        foreach (var (suffix, scale) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                continue;
            var number = text[..^suffix.Length];
            if (number.Length == 0 || !char.IsAsciiDigit(number[^1])
                || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
                return false;
            var seconds = amount * scale;
            if (!double.IsFinite(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
                return false;
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }
        return false;
    }

    /// <summary>Parses a positive duration, or throws a <see cref="UsageException"/> naming the option and the value.</summary>
    public static TimeSpan ParsePositive(string option, string text)
    {
        if (!TryParse(text, out var value))
            throw new UsageException($"{option} '{text}' is not {Help}");
        if (value <= TimeSpan.Zero)
            throw new UsageException($"{option} '{text}' must be longer than zero");
        return value;
    }

    /// <summary>Parses a duration that may be zero, or throws a <see cref="UsageException"/> naming the option and the value.</summary>
    public static TimeSpan ParseNonNegative(string option, string text)
    {
        if (!TryParse(text, out var value))
            throw new UsageException($"{option} '{text}' is not {Help}");
        if (value < TimeSpan.Zero)
            throw new UsageException($"{option} '{text}' must not be negative");
        return value;
    }

    public static string Format(TimeSpan value) =>
        value.TotalSeconds < 1 ? $"{value.TotalMilliseconds:0} ms"
        : value.TotalSeconds < 120 ? $"{value.TotalSeconds:0.###} s"
        : value.ToString("c", CultureInfo.InvariantCulture);
}
