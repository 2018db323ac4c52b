using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Scheduler.Rest;

/// <summary>What the endpoints share: the caller's tenant scope, the audit log, optional bodies, cursors.</summary>
internal static class Endpoints
{
    /// <summary>
    /// The request as the caller may submit it: a tenant-scoped caller's job goes to its tenant (a request naming
    /// the default tenant is moved there; one naming another tenant is refused).
    /// </summary>
    public static (string? Tenant, IResult? Problem) ScopeTenant(Caller caller, string? requested)
    {
        var tenant = ScopeTenant(caller, requested, out var refusal);
        return refusal is null ? (tenant, null) : (null, Problems.Forbidden(refusal));
    }

    /// <summary>The tenant the caller acts for, as above; null with <paramref name="refusal"/> set when it may not.</summary>
    public static string? ScopeTenant(Caller caller, string? requested, out string? refusal)
    {
        refusal = null;
        if (caller.Tenant is null || requested is null)
            return requested;
        if (requested == caller.Tenant || requested == JobRequest.DefaultTenant)
            return caller.Tenant;
        refusal = $"this key is scoped to tenant '{caller.Tenant}' and cannot act for tenant '{requested}'";
        return null;
    }

    /// <summary>Writes a control action to the audit log before the answer goes out.</summary>
    public static Task AuditAsync(HttpContext http, string action, string target, string? detail = null)
    {
        var caller = Caller.Of(http);
        var grains = http.RequestServices.GetService(typeof(IGrainFactory)) as IGrainFactory
            ?? throw new InvalidOperationException("no grain factory: the REST API needs an Orleans client or silo");
        return grains.GetGrain<IAccessGrain>(0).Audit(new AuditEntry
        {
            Timestamp = DateTimeOffset.UtcNow,
            Actor = caller.Actor,
            Action = action,
            Target = target,
            Tenant = caller.Tenant,
            Detail = detail,
        });
    }

    /// <summary>An optional JSON body: a new <typeparamref name="T"/> when the request has none.</summary>
    public static async Task<(T? Value, IResult? Problem)> ReadOptionalAsync<T>(HttpRequest request) where T : class, new()
    {
        if (request.ContentLength is null or 0 && !request.Headers.ContainsKey("Transfer-Encoding"))
            return (new T(), null);
        return await ApiJson.ReadAsync<T>(request);
    }

    public static string EncodeCursor(JobSummary last) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes($"{last.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{last.Id.Value:N}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static JobListPosition? DecodeCursor(string? cursor, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(cursor))
            return null;
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - base64.Length % 4) % 4);
            var text = Encoding.ASCII.GetString(Convert.FromBase64String(base64));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && long.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks <= DateTimeOffset.MaxValue.UtcTicks && Guid.TryParseExact(text[(colon + 1)..], "N", out var id))
                return new JobListPosition(new DateTimeOffset(ticks, TimeSpan.Zero), new JobId(id));
        }
        catch (FormatException)
        {
            // Reported below.
        }
        problem = "cursor is not one this API returned (pass nextCursor of the previous page)";
        return null;
    }

    /// <summary>
    /// A query's time: ISO 8601 with an offset or Z (2026-12-07T10:00:00Z); without one it is taken as UTC, so a
    /// browser's and a server's time zones cannot shift a range.
    /// </summary>
    public static bool TryParseTime(string name, string? text, out DateTimeOffset? value, out string? problem)
    {
        value = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
            return true;
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AllowWhiteSpaces, out var parsed))
        {
            value = parsed;
            return true;
        }
        problem = $"{name} '{text}' is not a time: use ISO 8601, as in 2026-12-07T10:00:00Z";
        return false;
    }

    public static bool TryParseEnum<T>(string? text, out T? value, out string? problem) where T : struct, Enum
    {
        value = null;
        problem = null;
        if (string.IsNullOrEmpty(text))
            return true;
        if (Enum.TryParse<T>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !text.Any(char.IsAsciiDigit))
        {
            value = parsed;
            return true;
        }
        problem = $"'{text}' is not a {typeof(T).Name}: use {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}";
        return false;
    }
}

/// <summary>A page of a listing; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>Optional reason of a cancel.</summary>
public sealed class CancelBody
{
    /// <summary>Becomes the job's last error.</summary>
    public string? Reason { get; init; }
}

/// <summary>New due time of a reschedule.</summary>
public sealed class RescheduleBody
{
    /// <summary>Starts no earlier than this; null: as soon as possible.</summary>
    public DateTimeOffset? NotBefore { get; init; }
}

/// <summary>Attempts a requeued job gets.</summary>
public sealed class RequeueBody
{
    /// <summary>Null: as many as it was first given.</summary>
    public int? Attempts { get; init; }
}

/// <summary>A note on a schedule's pause or resume.</summary>
public sealed class NoteBody
{
    /// <summary>Shown by describe.</summary>
    public string? Note { get; init; }
}

/// <summary>A batch of jobs, submitted all or none.</summary>
public sealed class BatchBody
{
    /// <summary>The jobs, in order.</summary>
    public required List<JobRequest> Jobs { get; init; }
}

/// <summary>A new priority.</summary>
public sealed class PriorityBody
{
    /// <summary>From JobPriority.Min (lowest) to JobPriority.Max (highest).</summary>
    public required int Priority { get; init; }
}

/// <summary>Which dead letters a purge by filter deletes (every one that matches).</summary>
public sealed class PurgeFilterBody
{
    /// <summary>Only of this queue.</summary>
    public string? Queue { get; init; }
    /// <summary>Only of this tenant.</summary>
    public string? Tenant { get; init; }
    /// <summary>Only of this handler.</summary>
    public string? Handler { get; init; }
    /// <summary>Only those that failed before this time.</summary>
    public DateTimeOffset? FailedBefore { get; init; }
}
