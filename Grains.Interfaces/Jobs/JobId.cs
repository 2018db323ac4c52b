using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Scheduler;

/// <summary>Identifies one job. Text form is the canonical GUID form ("d").</summary>
[GenerateSerializer, Immutable, Alias("scheduler.JobId")]
public readonly record struct JobId([property: Id(0)] Guid Value) : IComparable<JobId>
{
    /// <summary>A new, time-ordered id (a version 7 GUID).</summary>
    public static JobId New() => new(Guid.CreateVersion7());

    /// <summary>
    /// The id a job submitted with an idempotency key gets: the same (tenant, key) always gives the same id,
    /// so a resubmission lands on the same job grain and enqueues nothing new.
    /// </summary>
    public static JobId FromIdempotencyKey(string tenant, string key)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentException.ThrowIfNullOrEmpty(key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"scheduler.idempotency\n{tenant}\n{key}"), hash);
        // Shape the first 16 bytes as an RFC 9562 version 8 (custom) UUID.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new JobId(new Guid(hash[..16], bigEndian: true));
    }

    /// <summary>Parses a job id; throws a <see cref="FormatException"/> naming the text when it is not one.</summary>
    public static JobId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a job id (expected a GUID such as 0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80).");

    /// <summary>Parses a job id: a GUID other than the empty one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out JobId id)
    {
        if (Guid.TryParse(text, out var guid) && guid != Guid.Empty)
        {
            id = new JobId(guid);
            return true;
        }
        id = default;
        return false;
    }

    /// <summary>Orders ids by their GUID (for version 7 ids, roughly by creation time).</summary>
    public int CompareTo(JobId other) => Value.CompareTo(other.Value);

    /// <summary>The id in canonical GUID form, e.g. 0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80.</summary>
    public override string ToString() => Value.ToString("d");
}
