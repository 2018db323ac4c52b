using System.Text.Json;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode features</c> (issue 17): plain bursts of <c>--jobs</c> with the queue features on (fair share and aging,
/// as <c>--ordering on</c>, plus gates, breakers and backpressure, as <c>--protection</c>) and off (neither), in turn
/// (on, off, off, on, ... so a drift of the host weighs on both alike), each on a fresh silo, in one process, after
/// one burst that is not counted. Reports
/// each burst's jobs/s, CPU and allocations per job, the ratio of the sums, on to off, and each pair's (on against the
/// off burst next to it) ratios of rate and of CPU per job.
/// </summary>
public static class FeaturesBench
{
    private const int Rounds = 2;

    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        // One throwaway server for all the bursts, a fresh database each.
        await using var postgresLease = s.Storage == "postgres" && s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var runs = new Dictionary<bool, List<BurstFigures>> { [true] = [], [false] = [] };
        var exit = 0;
        // The process's first burst ran slowest whatever it measured (0.78-0.82 of the next, on either side), although
        // each burst warms up its own silo: so one more burst, with the features on, runs first and counts for nothing.
        for (var i = -1; i < 2 * Rounds; i++)
        {
            var on = i < 0 || i % 4 is 0 or 3;
            var postgres = s.Postgres is null && postgresLease is not null ? await postgresLease.Server.CreateDatabaseAsync("bench", ct) : s.Postgres;
            var burst = s with { Mode = "burst", Ordering = on ? "on" : "off", Protection = on, Postgres = postgres };
            var figures = new BurstFigures(double.NaN, double.NaN, double.NaN);
            var code = await Bench.RunAsync(burst with { OnRate = f => figures = f }, ct);
            exit = Math.Max(exit, code == CostBudget.OverBudgetExitCode ? 0 : code);
            if (i < 0)
            {
                Console.Error.WriteLine($"features warm-up burst (not counted): {figures.JobsPerSec} jobs/s");
                continue;
            }
            runs[on].Add(figures);
            Console.Error.WriteLine($"features {(on ? "on" : "off")}: {figures.JobsPerSec} jobs/s, {figures.CpuMsPerJob:0.0000} ms CPU and {figures.AllocatedKbPerJob:0.00} KB per job");
        }
        // Each on burst against the off burst next to it (on, off | off, on): a drift of the host from burst to burst
        // (the later bursts of one process ran slower on both sides) weighs on each pair's two alike.
        var pairs = Enumerable.Range(0, Rounds).Select(i => new
        {
            rate = Math.Round(runs[true][i].JobsPerSec / runs[false][i].JobsPerSec, 3),
            cpu_per_job = Math.Round(runs[true][i].CpuMsPerJob / runs[false][i].CpuMsPerJob, 3),
        }).ToArray();
        var ratio = Math.Round(runs[true].Sum(r => r.JobsPerSec) / runs[false].Sum(r => r.JobsPerSec), 3);
        Console.Error.WriteLine($"features {s.Storage}: on {string.Join(" / ", runs[true].Select(r => r.JobsPerSec))}, off {string.Join(" / ", runs[false].Select(r => r.JobsPerSec))} jobs/s; " +
            $"on/off {ratio}; per pair (rate, CPU per job) {string.Join("; ", pairs.Select(p => $"{p.rate}, {p.cpu_per_job}"))}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            storage = s.Storage,
            mode = s.Mode,
            jobs = s.Jobs,
            capacity = s.Capacity,
            on_jobs_per_sec = runs[true].Select(r => r.JobsPerSec),
            off_jobs_per_sec = runs[false].Select(r => r.JobsPerSec),
            on_cpu_ms_per_job = runs[true].Select(r => Math.Round(r.CpuMsPerJob, 4)),
            off_cpu_ms_per_job = runs[false].Select(r => Math.Round(r.CpuMsPerJob, 4)),
            on_allocated_kb_per_job = runs[true].Select(r => Math.Round(r.AllocatedKbPerJob, 2)),
            off_allocated_kb_per_job = runs[false].Select(r => Math.Round(r.AllocatedKbPerJob, 2)),
            on_off_ratio = ratio,
            on_off_pairs = pairs,
        }));
        return exit;
    }
}
