namespace Scheduler.Bench;

/// <summary>
/// What one job cost in a burst or paced run, counted (not timed, so a busy host does not move it): grain calls the
/// silos received, job-and-other activations created, database commands and the bytes sent to and received from the
/// database (PostgreSQL only: Npgsql's counters), and bytes allocated by the whole process (client and silos).
/// </summary>
public sealed record JobCosts(double GrainCalls, double Activations, double DbCommands, double DbBytesSent, double DbBytesReceived,
    double AllocatedKb, IReadOnlyDictionary<string, double> ByMethod);

/// <summary>
/// The per-job cost budget of docs/cost-budget.md: the most a plain job (no keys, workflow, retry or protection) may
/// cost on each storage. A run whose counts go over says so in its JSON and exits with <see cref="OverBudgetExitCode"/>,
/// so a change that adds a grain call or a statement to every job is caught by the count, whatever the host's speed.
/// </summary>
public static class CostBudget
{
    public const int OverBudgetExitCode = 3;

    private static readonly IReadOnlyDictionary<string, double> NoMethods = new Dictionary<string, double>();

    /// <summary>The limits per storage (keep in step with docs/cost-budget.md).</summary>
    public static readonly IReadOnlyDictionary<string, JobCosts> Limits = new Dictionary<string, JobCosts>(StringComparer.Ordinal)
    {
        ["memory"] = new(GrainCalls: 3.6, Activations: 1.05, DbCommands: 0, DbBytesSent: 0, DbBytesReceived: 0, AllocatedKb: 19, ByMethod: NoMethods),
        ["embedded"] = new(GrainCalls: 3.8, Activations: 1.05, DbCommands: 0, DbBytesSent: 0, DbBytesReceived: 0, AllocatedKb: 62, ByMethod: NoMethods),
        ["postgres"] = new(GrainCalls: 4.0, Activations: 1.15, DbCommands: 0.05, DbBytesSent: 1_400, DbBytesReceived: 300, AllocatedKb: 34, ByMethod: NoMethods),
    };

    /// <summary>
    /// Whether a run is one the budget is for: a burst (paced submits carry a job or two per call, so per-call costs
    /// become per-job ones), one silo (with more, calls and activations cross silos and cost more by design), jobs
    /// only, none with keys, retries, tenants or protection.
    /// </summary>
    public static bool Applies(BenchSettings s) =>
        s.Mode is "burst" && s.Silos == 1 && s.Workflows is null && s.Keys == 0 && s.FailOncePercent == 0 && !s.Protection && s.Tenants == 1 && !s.Metrics;

    /// <summary>Each counted figure against its limit; <c>over</c> lists the ones above it.</summary>
    public static (object Report, string[] Over) Check(string storage, JobCosts costs)
    {
        var limit = Limits[storage];
        (string Name, double Value, double Limit)[] rows =
        [
            ("grain_calls", costs.GrainCalls, limit.GrainCalls),
            ("activations", costs.Activations, limit.Activations),
            ("db_commands", costs.DbCommands, limit.DbCommands),
            ("db_bytes_sent", costs.DbBytesSent, limit.DbBytesSent),
            ("db_bytes_received", costs.DbBytesReceived, limit.DbBytesReceived),
            ("allocated_kb", costs.AllocatedKb, limit.AllocatedKb),
        ];
        // Only PostgreSQL's commands and bytes are counted (Npgsql's meter): the other storages' rows show 0.
        var over = rows.Where(r => r.Value > r.Limit && !(storage != "postgres" && r.Name.StartsWith("db_", StringComparison.Ordinal)))
            .Select(r => $"{r.Name} {r.Value} > {r.Limit}").ToArray();
        return (new { limits = rows.ToDictionary(r => r.Name, r => r.Limit), over, within = over.Length == 0 }, over);
    }
}
