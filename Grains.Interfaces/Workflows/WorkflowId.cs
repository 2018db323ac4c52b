using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Scheduler;

/// <summary>Identifies one workflow (a graph of jobs). Text form is the canonical GUID form ("d").</summary>
[GenerateSerializer, Immutable, Alias("scheduler.WorkflowId")]
public readonly record struct WorkflowId([property: Id(0)] Guid Value) : IComparable<WorkflowId>
{
    /// <summary>A new, time-ordered id (a version 7 GUID).</summary>
    public static WorkflowId New() => new(Guid.CreateVersion7());

    /// <summary>
    /// The id of the job that runs <paramref name="node"/> of this workflow in run <paramref name="generation"/>
    /// (1 for the first run; each rerun of the failed part is the next generation). Derived, never stored: a
    /// retried release lands on the same job grain, so it cannot run a node twice.
    /// </summary>
    public JobId JobIdOf(string node, int generation)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        ArgumentOutOfRangeException.ThrowIfLessThan(generation, 1);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"scheduler.workflow\n{Value:d}\n{node}\n{generation}"), hash);
        // Shape the first 16 bytes as an RFC 9562 version 8 (custom) UUID.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new JobId(new Guid(hash[..16], bigEndian: true));
    }

    /// <summary>
    /// Parses a workflow id; throws a <see cref="FormatException"/> naming the text when it is not one.
    /// </summary>
    public static WorkflowId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a workflow id (expected a GUID such as 0191f3c2-7a4e-7c1a-9b1e-2f4c5d6e7f80).");

    /// <summary>Parses a workflow id: a GUID other than the empty one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out WorkflowId id)
    {
        if (Guid.TryParse(text, out var guid) && guid != Guid.Empty)
        {
            id = new WorkflowId(guid);
            return true;
        }
        id = default;
        return false;
    }

    /// <summary>Orders ids by their GUID (for version 7 ids, roughly by creation time).</summary>
    public int CompareTo(WorkflowId other) => Value.CompareTo(other.Value);

    /// <summary>The id in canonical GUID form.</summary>
    public override string ToString() => Value.ToString("d");
}
