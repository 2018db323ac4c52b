using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode features</c> (issue 17): plain bursts of <c>--jobs</c> with the queue features on (fair share and aging,
/// as <c>--ordering on</c>, plus gates, breakers and backpressure, as <c>--protection</c>) and off (neither), in turn
/// (on, off, off, on, so a drift of the host weighs on both alike), each burst a <c>--mode burst</c> run of this
/// program in a process of its own. Reports each burst's jobs/s, CPU and allocations per job, the ratio of the sums,
/// on to off, and each pair's (on against the off burst next to it) ratios of rate and of CPU per job.
/// </summary>
/// <remarks>
/// Bursts in one process measured their place in the sequence more than the features: the first after the warm-up
/// ran slowest and a late one slower, whichever side it was (on, off, off, on gave 0.80-0.94; off, on, on, off 1.06-1.10).
/// </remarks>
public static class FeaturesBench
{
    private const int Rounds = 2;

    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        // One throwaway server for all the bursts, a fresh database each.
        await using var postgresLease = s.Storage == "postgres" && s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var runs = new Dictionary<bool, List<BurstFigures>> { [true] = [], [false] = [] };
        var exit = 0;
        for (var i = 0; i < 2 * Rounds; i++)
        {
            var on = i % 4 is 0 or 3;
            var postgres = s.Postgres is null && postgresLease is not null ? await postgresLease.Server.CreateDatabaseAsync("bench", ct) : s.Postgres;
            var (code, figures) = await RunBurstAsync(s, on, postgres, ct);
            exit = Math.Max(exit, code == CostBudget.OverBudgetExitCode ? 0 : code);
            if (figures is not { } burst)
            {
                Console.Error.WriteLine($"features {(on ? "on" : "off")}: the burst printed no result (exit code {code})");
                return Math.Max(exit, 1);
            }
            runs[on].Add(burst);
            Console.Error.WriteLine($"features {(on ? "on" : "off")}: {burst.JobsPerSec} jobs/s, {burst.CpuMsPerJob:0.0000} ms CPU and {burst.AllocatedKbPerJob:0.00} KB per job");
        }
        // Each on burst against the off burst next to it (on, off | off, on).
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

    /// <summary>Runs one burst as a process of this program; its figures from the JSON line it prints, null if none.</summary>
    private static async Task<(int Code, BurstFigures? Figures)> RunBurstAsync(BenchSettings s, bool on, string? postgres, CancellationToken ct)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, UseShellExecute = false };
        // Run as an app host, or as "dotnet Scheduler.Bench.dll".
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("the process's path is unknown");
        start.FileName = host;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var arg in new[]
        {
            "--mode", "burst", "--storage", s.Storage, "--jobs", $"{s.Jobs}", "--capacity", $"{s.Capacity}", "--batch", $"{s.Batch}",
            "--timeout", $"{(int)s.Timeout.TotalSeconds}", "--tenants", $"{s.Tenants}", "--counts", s.Counts ? "on" : "off",
            "--ordering", on ? "on" : "off",
        })
            start.ArgumentList.Add(arg);
        if (on)
            start.ArgumentList.Add("--protection");
        if (postgres is not null)
        {
            start.ArgumentList.Add("--postgres");
            start.ArgumentList.Add(postgres);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        string? last = null;
        while (await process.StandardOutput.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith('{'))
                last = line;
        }
        await process.WaitForExitAsync(ct);
        if (last is null)
            return (process.ExitCode, null);
        using var json = JsonDocument.Parse(last);
        var root = json.RootElement;
        return (process.ExitCode, new BurstFigures(root.GetProperty("jobs_per_sec").GetDouble(), root.GetProperty("cpu_ms_per_job").GetDouble(),
            root.GetProperty("allocated_bytes_per_job").GetDouble() / 1024));
    }

    /// <summary>A burst's jobs/s, CPU milliseconds per job (the process's, client included) and KB allocated per job.</summary>
    private readonly record struct BurstFigures(double JobsPerSec, double CpuMsPerJob, double AllocatedKbPerJob);
}
