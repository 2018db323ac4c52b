using System.Collections.Immutable;

namespace Scheduler;

/// <summary>
/// A concurrency key a job holds while it runs: at most <see cref="Limit"/> jobs holding the same key run at once
/// across the cluster (limit 1: a mutex). A job takes all its keys at once or none.
/// </summary>
/// <param name="Key">The key, e.g. "upload:4711"; see <see cref="FlowKeys.KeyRule"/>.</param>
/// <param name="Limit">
/// Jobs that may hold the key at once, 1 to <see cref="FlowKeys.MaxLimit"/>. Null: the key's configured limit, else 1.
/// A limit set in configuration or at runtime (<c>scheduler limits set</c>) wins over the job's.
/// </param>
[GenerateSerializer, Immutable, Alias("scheduler.ConcurrencyKey")]
public sealed record ConcurrencyKey(
    [property: Id(0)] string Key,
    [property: Id(1)] int? Limit = null);

/// <summary>Rules for concurrency keys and key templates, shared by the SDK, the CLI and the silos.</summary>
public static class FlowKeys
{
    /// <summary>Most keys one job may hold.</summary>
    public const int MaxKeysPerJob = 16;

    /// <summary>Highest concurrency limit of a key.</summary>
    public const int MaxLimit = 100_000;

    /// <summary>Longest key.</summary>
    public const int MaxKeyLength = 200;

    /// <summary>Most starts a rate limit may allow per window.</summary>
    public const int MaxRate = 100_000;

    /// <summary>Shortest rate window.</summary>
    public static readonly TimeSpan MinRateWindow = TimeSpan.FromSeconds(1);

    /// <summary>Longest rate window.</summary>
    public static readonly TimeSpan MaxRateWindow = TimeSpan.FromDays(1);

    /// <summary>The rule for keys, as error messages state it.</summary>
    public const string KeyRule = "1 to 200 characters of letters, digits, '.', '-', '_', ':', '/' and '@'";

    /// <summary>The fields a key template may use.</summary>
    public const string TemplateRule = "text as in a key, with fields {tenant}, {queue}, {handler}, {workflow} or {payload.NAME}";

    /// <summary>True when <paramref name="key"/> follows <see cref="KeyRule"/>.</summary>
    public static bool IsKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength)
            return false;
        foreach (var c in key)
        {
            if (!IsKeyChar(c))
                return false;
        }
        return true;
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '/' or '@';

    /// <summary>Checks a job's keys; returns null when they are well-formed.</summary>
    public static string? Problem(ImmutableArray<ConcurrencyKey> keys)
    {
        if (keys.IsDefaultOrEmpty)
            return null;
        if (keys.Length > MaxKeysPerJob)
            return $"a job may hold at most {MaxKeysPerJob} concurrency keys; this one names {keys.Length}";
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if (key is null)
                return "a concurrency key must not be null";
            if (!IsKey(key.Key))
                return $"concurrency key '{key.Key}' is not valid ({KeyRule})";
            if (LimitProblem(key.Limit, key.Key) is { } limit)
                return limit;
            // At most 16 keys: comparing pairs costs less than a set per submitted job.
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(keys[j].Key, key.Key, StringComparison.Ordinal))
                    return $"concurrency key '{key.Key}' is named twice";
            }
        }
        return null;
    }

    /// <summary>Checks a concurrency limit; null when it is in range (or not given).</summary>
    public static string? LimitProblem(int? limit, string key) =>
        limit is < 1 or > MaxLimit ? $"limit {limit} of concurrency key '{key}' is out of range: use 1 to {MaxLimit}" : null;

    /// <summary>Checks a key's settings; null when they are valid.</summary>
    public static string? Problem(string key, KeySettings settings)
    {
        if (!IsKey(key))
            return $"concurrency key '{key}' is not valid ({KeyRule})";
        if (settings is null)
            return "settings must not be null";
        if (LimitProblem(settings.Limit, key) is { } limit)
            return limit;
        if (settings.Rate is { } rate)
        {
            if (rate.Count is < 1 or > MaxRate)
                return $"rate limit of '{key}' allows {rate.Count} starts per window: use 1 to {MaxRate}";
            if (rate.Window < MinRateWindow || rate.Window > MaxRateWindow)
                return $"rate window of '{key}' is {Describe(rate.Window)}: use 1 s to 1 day";
        }
        if (settings.Limit is null && settings.Rate is null)
            return $"settings of '{key}' set neither a limit nor a rate";
        return null;
    }

    /// <summary>
    /// Checks a key template such as "upload:{payload.upload}"; returns null when it is well-formed. Fields are
    /// filled in from the job when it is submitted.
    /// </summary>
    public static string? TemplateProblem(string? template)
    {
        if (string.IsNullOrEmpty(template) || template.Length > MaxKeyLength)
            return $"key template '{template}' is not valid ({TemplateRule})";
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c == '{')
            {
                var end = template.IndexOf('}', i);
                if (end < 0)
                    return $"key template '{template}' has a '{{' without its '}}'";
                var field = template[(i + 1)..end];
                if (!IsField(field))
                    return $"key template '{template}' uses unknown field '{{{field}}}' (use {{tenant}}, {{queue}}, {{handler}}, {{workflow}} or {{payload.NAME}})";
                i = end + 1;
                continue;
            }
            if (!IsKeyChar(c))
                return $"key template '{template}' is not valid ({TemplateRule})";
            i++;
        }
        return null;
    }

    /// <summary>A rate window as messages show it: "1 h", "1 min", "2 s".</summary>
    public static string Describe(TimeSpan window) =>
        window.TotalSeconds % 3600 == 0 ? $"{window.TotalHours:0} h"
        : window.TotalSeconds % 60 == 0 ? $"{window.TotalMinutes:0} min"
        : $"{window.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";

    private static bool IsField(string field) =>
        field is "tenant" or "queue" or "handler" or "workflow"
        || (field.StartsWith("payload.", StringComparison.Ordinal) && field.Length > "payload.".Length
            && field["payload.".Length..].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'));
}

/// <summary>A sliding-window rate limit: at most <see cref="Count"/> starts in any <see cref="Window"/>.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.RateLimit")]
public sealed record RateLimit(
    [property: Id(0)] int Count,
    [property: Id(1)] TimeSpan Window);

/// <summary>
/// The settings of one key, from configuration or set at runtime: a concurrency limit, a rate limit, or both.
/// </summary>
[GenerateSerializer, Immutable, Alias("scheduler.KeySettings")]
public sealed record KeySettings
{
    /// <summary>Jobs that may hold the key at once; null: jobs' own limits (else 1), or none when only a rate is set.</summary>
    [Id(0)] public int? Limit { get; init; }

    /// <summary>Starts allowed per sliding window; null: no rate limit.</summary>
    [Id(1)] public RateLimit? Rate { get; init; }
}
