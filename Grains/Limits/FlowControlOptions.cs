using System.Collections.Immutable;
using System.Text.Json;

namespace Scheduler.Limits;

/// <summary>
/// Flow control settings, bound from "Scheduler:FlowControl": key settings, and default keys per handler and per
/// queue. Must be the same on every silo; runtime changes (<c>scheduler limits set</c>) win over <see cref="Keys"/>.
/// </summary>
public sealed class FlowControlOptions
{
    /// <summary>
    /// Settings of keys, e.g. [{ "Key": "dbhost:pg1", "Limit": 4 }, { "Key": "api:scanoss", "Rate": 60, "RateWindow": "00:01:00" }]
    /// (a list, because keys contain ':', which configuration reads as a section separator).
    /// </summary>
    public List<KeyOptions> Keys { get; set; } = [];

    /// <summary>Keys every job of a handler holds, e.g. "monk": [{ "Key": "upload:{payload.upload}" }].</summary>
    public Dictionary<string, List<KeyTemplateOptions>> Handlers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Keys every job of a queue holds.</summary>
    public Dictionary<string, List<KeyTemplateOptions>> Queues { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The configured settings of <paramref name="key"/>, if any.</summary>
    public KeySettings? SettingsOf(string key) => Keys.Find(k => k?.Key == key)?.ToSettings();

    public IEnumerable<string> Validate(string section)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++)
        {
            var options = Keys[i];
            if (options is null)
                yield return $"{section}:Keys:{i}: no settings";
            else if ((options.Rate is null) != (options.RateWindow is null))
                yield return $"{section}:Keys:{i} ({options.Key}): set Rate and RateWindow together";
            else if (FlowKeys.Problem(options.Key, options.ToSettings()) is { } problem)
                yield return $"{section}:Keys:{i}: {problem}";
            else if (!seen.Add(options.Key))
                yield return $"{section}:Keys:{i}: key '{options.Key}' is listed twice";
        }
        foreach (var (kind, defaults) in new[] { ("Handlers", Handlers), ("Queues", Queues) })
        {
            foreach (var (name, templates) in defaults)
            {
                if (!RequestValidation.IsName(name))
                    yield return $"{section}:{kind}: '{name}' is not a valid name ({RequestValidation.NameRule})";
                if (templates is null || templates.Count > FlowKeys.MaxKeysPerJob)
                    yield return $"{section}:{kind}:{name}: give 1 to {FlowKeys.MaxKeysPerJob} keys";
                foreach (var template in templates ?? [])
                {
                    if (FlowKeys.TemplateProblem(template?.Key) is { } problem)
                        yield return $"{section}:{kind}:{name}: {problem}";
                    else if (FlowKeys.LimitProblem(template!.Limit, template.Key) is { } limit)
                        yield return $"{section}:{kind}:{name}: {limit}";
                }
            }
        }
    }

    /// <summary>
    /// The request with its handler's and queue's default keys added (templates filled in from the job); a key the
    /// request names already keeps the request's limit. A template whose field the job lacks adds no key; keys beyond
    /// <see cref="FlowKeys.MaxKeysPerJob"/> are not added.
    /// </summary>
    public JobRequest AddDefaults(JobRequest request)
    {
        var handler = Handlers.GetValueOrDefault(request.Handler);
        var queue = Queues.GetValueOrDefault(request.Queue);
        if (handler is null && queue is null)
            return request;
        var keys = request.Concurrency.IsDefault ? [] : request.Concurrency;
        JsonDocument? payload = null;
        try
        {
            foreach (var template in (handler ?? []).Concat(queue ?? []))
            {
                if (keys.Length >= FlowKeys.MaxKeysPerJob)
                    break;
                if (Fill(template.Key, request, ref payload) is not { } key || keys.Any(k => k.Key == key))
                    continue;
                keys = keys.Add(new ConcurrencyKey(key, template.Limit));
            }
        }
        finally
        {
            payload?.Dispose();
        }
        return request with { Concurrency = keys };
    }

    private static string? Fill(string template, JobRequest request, ref JsonDocument? payload)
    {
        var text = new System.Text.StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] != '{')
            {
                text.Append(template[i++]);
                continue;
            }
            var end = template.IndexOf('}', i);
            var field = template[(i + 1)..end];
            i = end + 1;
            var value = field switch
            {
                "tenant" => request.Tenant,
                "queue" => request.Queue,
                "handler" => request.Handler,
                "workflow" => request.Workflow?.ToString(),
                _ => PayloadField(field["payload.".Length..], request.Payload, ref payload),
            };
            if (string.IsNullOrEmpty(value))
                return null;
            text.Append(value);
        }
        var key = text.ToString();
        return FlowKeys.IsKey(key) ? key : null;
    }

    private static string? PayloadField(string name, ImmutableArray<byte> bytes, ref JsonDocument? payload)
    {
        if (payload is null)
        {
            if (bytes.IsDefaultOrEmpty)
                return null;
            try
            {
                payload = JsonDocument.Parse(bytes.AsMemory());
            }
            catch (JsonException)
            {
                return null;
            }
        }
        if (payload.RootElement.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var property in payload.RootElement.EnumerateObject())
        {
            if (!string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                continue;
            return property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                _ => null,
            };
        }
        return null;
    }
}

/// <summary>One key's settings in configuration.</summary>
public sealed class KeyOptions
{
    /// <summary>The key, e.g. "dbhost:pg1".</summary>
    public string Key { get; set; } = "";

    /// <summary>Jobs that may hold the key at once; unset: jobs' own limits (else 1), or none with only a rate.</summary>
    public int? Limit { get; set; }

    /// <summary>Starts allowed per <see cref="RateWindow"/>; unset: no rate limit.</summary>
    public int? Rate { get; set; }

    /// <summary>The rate limit's sliding window, at least 1 s.</summary>
    public TimeSpan? RateWindow { get; set; }

    public KeySettings ToSettings() => new()
    {
        Limit = Limit,
        Rate = Rate is { } count && RateWindow is { } window ? new RateLimit(count, window) : null,
    };
}

/// <summary>A default key of a handler or queue: a template over the job's fields, and its limit.</summary>
public sealed class KeyTemplateOptions
{
    /// <summary>E.g. "upload:{payload.upload}"; fields {tenant}, {queue}, {handler}, {workflow}, {payload.NAME}.</summary>
    public string Key { get; set; } = "";

    /// <summary>The limit the job asks for; unset: the key's configured limit, else 1.</summary>
    public int? Limit { get; set; }
}
