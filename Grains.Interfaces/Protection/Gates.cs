using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Scheduler;

/// <summary>What a gate matches: every job of one handler, queue, tenant or workflow.</summary>
[GenerateSerializer, Alias("scheduler.GateKind")]
public enum GateKind
{
    /// <summary>Jobs of one handler ("handler:NAME").</summary>
    Handler = 1,
    /// <summary>Jobs of one queue ("queue:NAME").</summary>
    Queue = 2,
    /// <summary>Jobs of one tenant ("tenant:NAME").</summary>
    Tenant = 3,
    /// <summary>Jobs of one workflow ("workflow:ID").</summary>
    Workflow = 4,
}

/// <summary>Gate targets, written "handler:NAME", "queue:NAME", "tenant:NAME" or "workflow:ID".</summary>
public static class GateTargets
{
    /// <summary>How a target is written, for error messages.</summary>
    public const string TargetRule = "handler:NAME, queue:NAME, tenant:NAME or workflow:ID";

    /// <summary>A target for <paramref name="kind"/> and <paramref name="value"/>.</summary>
    public static string Of(GateKind kind, string value) => $"{kind.ToString().ToLowerInvariant()}:{value}";

    /// <summary>Splits a target; false (with <paramref name="problem"/>) when it is not well formed.</summary>
    public static bool TryParse(string? target, out GateKind kind, out string value, out string? problem)
    {
        kind = default;
        value = "";
        problem = null;
        var colon = target?.IndexOf(':') ?? -1;
        if (target is null || colon <= 0)
        {
            problem = $"gate target '{target}' is not valid: use {TargetRule}";
            return false;
        }
        value = target[(colon + 1)..];
        switch (target[..colon])
        {
            case "handler": kind = GateKind.Handler; break;
            case "queue": kind = GateKind.Queue; break;
            case "tenant": kind = GateKind.Tenant; break;
            case "workflow": kind = GateKind.Workflow; break;
            default:
                problem = $"gate target '{target}' is not valid: '{target[..colon]}' is not handler, queue, tenant or workflow ({TargetRule})";
                return false;
        }
        if (kind == GateKind.Workflow ? !WorkflowId.TryParse(value, out var id) || id.ToString() != value : !RequestValidation.IsName(value))
        {
            problem = kind == GateKind.Workflow
                ? $"gate target '{target}' is not valid: '{value}' is not a workflow id (a GUID in lower-case \"d\" form)"
                : $"gate target '{target}' is not valid: '{value}' is not a name ({RequestValidation.NameRule})";
            return false;
        }
        return true;
    }

    /// <summary>Why <paramref name="target"/> is not well formed, or null.</summary>
    public static string? Problem(string? target) => TryParse(target, out _, out _, out var problem) ? null : problem;

    /// <summary>True when the gate <paramref name="target"/> covers a job with these fields.</summary>
    public static bool Matches(string target, string handler, string queue, string tenant, WorkflowId? workflow)
    {
        var colon = target.IndexOf(':');
        var value = target.AsSpan(colon + 1);
        return target.AsSpan(0, colon) switch
        {
            "handler" => value.SequenceEqual(handler),
            "queue" => value.SequenceEqual(queue),
            "tenant" => value.SequenceEqual(tenant),
            "workflow" => workflow is { } w && value.SequenceEqual(w.ToString()),
            _ => false,
        };
    }
}

/// <summary>
/// One gate, keyed by its target ("queue:reports"). While paused, the jobs it covers stay Queued but do not start:
/// each leaves its queue when it is offered (it holds no worker slot and holds back no other job) and says which
/// gate holds it; resume queues them again in their order. Drop cancels the covered queued jobs. Changes reach every
/// silo before the call returns.
/// </summary>
[Alias("scheduler.IGateGrain")]
public interface IGateGrain : IGrainWithStringKey
{
    /// <summary>Pauses the gate (again: updates the reason). Refused with an <see cref="ArgumentException"/> for a malformed target.</summary>
    [Alias("Pause")]
    Task<GateStatus> Pause(string? reason);

    /// <summary>Resumes the gate; its held jobs go back to their queues. A gate that is not paused is left as it is.</summary>
    [Alias("Resume")]
    Task<GateStatus> Resume();

    /// <summary>Cancels up to <paramref name="max"/> queued jobs the gate covers, with the reason; returns how many.</summary>
    [Alias("Drop")]
    Task<int> Drop(string? reason, int max);

    /// <summary>Whether the gate is paused, since when, why, and how many jobs it held since.</summary>
    [Alias("GetStatus"), ReadOnly, AlwaysInterleave]
    Task<GateStatus> GetStatus();

    /// <summary>
    /// Asked by a job about to start while its silo believes the gate paused: granted when it is not (any more);
    /// otherwise the job is held and the answer says why. Interleaves (it only reads), so a drop that cancels a job
    /// asking meanwhile cannot deadlock with it.
    /// </summary>
    [Alias("Claim"), AlwaysInterleave]
    Task<KeyAnswer> Claim(KeyClaim claim);
}

/// <summary>A gate as <c>scheduler gate list</c> prints it.</summary>
[GenerateSerializer, Immutable, Alias("scheduler.GateStatus")]
public sealed record GateStatus
{
    /// <summary>The target, e.g. "queue:reports".</summary>
    [Id(0)] public required string Target { get; init; }
    /// <summary>True while paused.</summary>
    [Id(1)] public bool Paused { get; init; }
    /// <summary>The reason given when it was paused.</summary>
    [Id(2)] public string? Reason { get; init; }
    /// <summary>When it was paused.</summary>
    [Id(3)] public DateTimeOffset? Since { get; init; }
    /// <summary>Jobs it held since it was paused, as far as this activation saw (memory only).</summary>
    [Id(4)] public int Held { get; init; }
}

/// <summary>The protections that hold jobs now, as every silo caches them: paused gates and open breakers.</summary>
/// <param name="Version">Grows with every change.</param>
/// <param name="Gates">Targets of paused gates.</param>
/// <param name="Breakers">Targets of open or half-open breakers.</param>
[GenerateSerializer, Immutable, Alias("scheduler.HoldSet")]
public sealed record HoldSet(
    [property: Id(0)] long Version,
    [property: Id(1)] ImmutableArray<string> Gates,
    [property: Id(2)] ImmutableArray<string> Breakers)
{
    /// <summary>Nothing held.</summary>
    public static readonly HoldSet Empty = new(0, [], []);
}

/// <summary>
/// The paused gates and open breakers (one grain, key 0). Not on the job path: gates and breakers tell it of
/// changes, and each silo watches it (a long poll) and keeps a copy, so a job start costs no call to it.
/// </summary>
[Alias("scheduler.IHoldDirectoryGrain")]
public interface IHoldDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Marks a gate paused or not; returns once every live silo has seen the change (or after a few seconds).</summary>
    [Alias("SetGate")]
    Task SetGate(string target, bool paused);

    /// <summary>Marks a breaker open (or half-open) or closed; returns once every live silo has seen the change (or after a few seconds).</summary>
    [Alias("SetBreaker")]
    Task SetBreaker(string target, bool open);

    /// <summary>The paused gates and open breakers now, and the breakers configured (for listings; never on the job path).</summary>
    [Alias("List"), ReadOnly, AlwaysInterleave]
    Task<HoldListing> List();

    /// <summary>Long poll: answers when the set differs from version <paramref name="known"/>, or after <paramref name="maxWait"/>.</summary>
    [Alias("Watch"), AlwaysInterleave]
    Task<HoldSet> Watch(SiloAddress silo, long known, TimeSpan maxWait);
}

/// <summary>What <see cref="IHoldDirectoryGrain.List"/> answers.</summary>
/// <param name="Holds">The paused gates and open breakers.</param>
/// <param name="ConfiguredBreakers">Every breaker configured on the silos ("handler:NAME", "key:KEY").</param>
[GenerateSerializer, Immutable, Alias("scheduler.HoldListing")]
public sealed record HoldListing(
    [property: Id(0)] HoldSet Holds,
    [property: Id(1)] ImmutableArray<string> ConfiguredBreakers);
