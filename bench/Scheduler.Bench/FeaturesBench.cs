using System.Text.Json;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode features</c> (issue 17): plain bursts of <c>--jobs</c> with the queue features on (fair share and aging,
/// as <c>--ordering on</c>, plus gates, breakers and backpressure, as <c>--protection</c>) and off (neither), in turn
/// (on, off, off, on, ... so a drift of the host weighs on both alike), each on a fresh silo, in one process. Reports
/// each burst's jobs/s and the ratio of the sums, on to off.
/// </summary>
public static class FeaturesBench
{
    private const int Rounds = 2;

    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        // One throwaway server for all the bursts, a fresh database each.
        await using var postgresLease = s.Storage == "postgres" && s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var rates = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var exit = 0;
        for (var i = 0; i < 2 * Rounds; i++)
        {
            var on = i % 4 is 0 or 3;
            var postgres = s.Postgres is null && postgresLease is not null ? await postgresLease.Server.CreateDatabaseAsync("bench", ct) : s.Postgres;
            var burst = s with { Mode = "burst", Ordering = on ? "on" : "off", Protection = on, Postgres = postgres };
            var rate = double.NaN;
            var code = await Bench.RunAsync(burst with { OnRate = r => rate = r }, ct);
            exit = Math.Max(exit, code == CostBudget.OverBudgetExitCode ? 0 : code);
            rates[on].Add(rate);
            Console.Error.WriteLine($"features {(on ? "on" : "off")}: {rate} jobs/s");
        }
        var ratio = Math.Round(rates[true].Sum() / rates[false].Sum(), 3);
        Console.Error.WriteLine($"features {s.Storage}: on {string.Join(" / ", rates[true])}, off {string.Join(" / ", rates[false])} jobs/s; on/off {ratio}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            storage = s.Storage,
            mode = s.Mode,
            jobs = s.Jobs,
            capacity = s.Capacity,
            on_jobs_per_sec = rates[true],
            off_jobs_per_sec = rates[false],
            on_off_ratio = ratio,
        }));
        return exit;
    }
}
