using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Tests.Chaos;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Bench;

/// <summary>
/// Recovery time after a silo is killed with -9 (<c>--mode recovery</c>): silos run as separate processes
/// (<c>dotnet Scheduler.Silo.dll</c> from this build) on PostgreSQL and Redis. Each round starts long command jobs (at
/// most what the survivors have room for, so no orphan waits for a slot), kills the silo running most of them with SIGKILL, and measures, for each job that was running there, the time
/// from the kill until its next attempt starts on a surviving silo (the <c>StartedAt</c> the scheduler records). Then
/// the round's jobs are cancelled and the killed silo is started again.
/// </summary>
public static class RecoveryBench
{
    public static async Task<int> RunAsync(BenchSettings s, CancellationToken ct)
    {
        var id = $"bench-recovery-{Guid.NewGuid():N}"[..32];
        var directory = Path.Combine(Path.GetTempPath(), id);
        Directory.CreateDirectory(directory);

        await using var postgresLease = s.Postgres is null ? await PostgresServer.AcquireAsync(ct) : null;
        var postgres = s.Postgres ?? await postgresLease!.Server.CreateDatabaseAsync("bench", ct);
        await using var redisServer = s.Redis is null ? await RedisServer.StartAsync(ct) : null;
        var redis = s.Redis ?? redisServer!.ConnectionString;

        var environment = new Dictionary<string, string>
        {
            ["Scheduler__Storage"] = "Postgres",
            ["Scheduler__PostgresConnectionString"] = postgres,
            ["Scheduler__RedisConnectionString"] = redis,
            ["Scheduler__ClusterId"] = id,
            ["Scheduler__ServiceId"] = id,
            ["Scheduler__MaxConcurrentJobs"] = s.Capacity.ToString(CultureInfo.InvariantCulture),
            ["Scheduler__LeasePeriod"] = s.LeasePeriod.ToString("c", CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var silos = Enumerable.Range(1, s.Silos).Select(i => new SiloProcess($"silo{i}", directory, environment)).ToList();
        using var clientHost = BuildClient(redis, id);
        var samples = new List<double>();
        var rounds = new List<object>();
        try
        {
            await Task.WhenAll(silos.Select(x => x.StartAsync(TimeSpan.FromMinutes(2), ct)));
            await clientHost.StartAsync(ct);
            var client = clientHost.Services.GetRequiredService<ISchedulerClient>();
            var sleep = new CommandJob { Executable = "/bin/sleep", Arguments = ["600"] };

            for (var round = 1; round <= s.Kills; round++)
            {
                // Start the round's jobs, and wait until all run.
                var jobs = await client.SubmitManyAsync(
                    [.. Enumerable.Range(0, s.Jobs).Select(_ => new JobRequest { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(sleep) })], ct);
                await WaitAsync(async () => (await client.GetStatsAsync(ct)).ByState.GetValueOrDefault(JobState.Running) >= s.Jobs,
                    TimeSpan.FromMinutes(2), "every job running", ct);

                // The victim: the silo running the most of them.
                var statuses = new List<JobStatus>();
                foreach (var job in jobs)
                    statuses.Add((await client.GetStatusAsync(job.Id, ct))!);
                bool RunsOn(JobStatus status, SiloProcess silo) => status.Silo?.Contains($":{silo.SiloPort}:", StringComparison.Ordinal) == true;
                var victim = silos.MaxBy(silo => statuses.Count(st => RunsOn(st, silo)))!;
                var before = statuses.Where(st => RunsOn(st, victim)).ToDictionary(st => st.Id, st => st.Attempt);
                var killedAt = DateTimeOffset.UtcNow;
                victim.Kill();

                // Each orphan's next attempt: its StartedAt once its attempt number has moved on.
                var recovered = new ConcurrentDictionary<JobId, double>();
                await WaitAsync(async () =>
                {
                    foreach (var (job, attempt) in before.Where(kv => !recovered.ContainsKey(kv.Key)))
                    {
                        var status = await TryGetStatusAsync(client, job, ct);
                        if (status is { StartedAt: { } started } && status.Attempt > attempt)
                            recovered[job] = (started - killedAt).TotalMilliseconds;
                    }
                    return recovered.Count == before.Count;
                }, TimeSpan.FromMinutes(3), "every orphaned job running again", ct);
                samples.AddRange(recovered.Values);
                var sorted = recovered.Values.Order().ToArray();
                Console.Error.WriteLine($"round {round}: killed {victim.Name} with {before.Count} jobs running on it; " +
                    $"running again after p50 {Percentile(sorted, 0.5)} ms, max {sorted.LastOrDefault()} ms");
                rounds.Add(new { round, orphaned = before.Count, p50_ms = Percentile(sorted, 0.5), max_ms = Math.Round(sorted.LastOrDefault(), 1) });

                // Clear the round: cancel its jobs (running ones stop at their next renewal), bring the silo back.
                foreach (var job in jobs)
                    await client.CancelAsync(job.Id, "benchmark round over", ct);
                await victim.StartAsync(TimeSpan.FromMinutes(2), ct);
                await WaitAsync(async () =>
                {
                    var stats = await client.GetStatsAsync(ct);
                    return stats.ByState.GetValueOrDefault(JobState.Running) + stats.ByState.GetValueOrDefault(JobState.Queued) == 0;
                }, TimeSpan.FromMinutes(2), "the round's jobs cancelled", ct);
            }
        }
        finally
        {
            await clientHost.StopAsync(CancellationToken.None);
            foreach (var silo in silos)
                await silo.DisposeAsync();
        }

        var all = samples.Order().ToArray();
        var result = new
        {
            mode = "recovery",
            silos = s.Silos,
            capacity = s.Capacity,
            lease_period_s = s.LeasePeriod.TotalSeconds,
            kills = s.Kills,
            orphaned_jobs = all.Length,
            recovery_ms = new { p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99), max = Math.Round(all.LastOrDefault(), 1) },
            rounds,
        };
        Console.Error.WriteLine($"recovery after kill -9 ({s.Kills} kills, lease {s.LeasePeriod.TotalSeconds:0.#} s): {all.Length} orphaned jobs running again after " +
            $"p50 {result.recovery_ms.p50} ms, p99 {result.recovery_ms.p99} ms, max {result.recovery_ms.max} ms");
        Console.WriteLine(JsonSerializer.Serialize(result));
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        return all.Length > 0 ? 0 : 1;
    }

    private static IHost BuildClient(string redis, string id)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSchedulerClient(o =>
        {
            o.RedisConnectionString = redis;
            o.ClusterId = id;
            o.ServiceId = id;
        });
        return builder.Build();
    }

    /// <summary>A status read; null while the job's grain is unreachable (its silo was just killed).</summary>
    private static async Task<JobStatus?> TryGetStatusAsync(ISchedulerClient client, JobId id, CancellationToken ct)
    {
        try
        {
            return await client.GetStatusAsync(id, ct);
        }
        catch (SchedulerException)
        {
            return null;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (SchedulerException)
            {
                // A gateway went away with the killed silo; ask again.
            }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(20, ct);
        }
    }

    private static double? Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? null : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
}
