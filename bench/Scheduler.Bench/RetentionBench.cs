using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Client;
using Scheduler.Retention;
using Scheduler.Storage;

namespace Scheduler.Bench;

/// <summary>
/// <c>--mode retention</c> (PostgreSQL): fills the job tables with <c>--prune-rows</c> jobs that succeeded 30 days ago
/// (three history rows each), prints the plan of a pruning batch on that table, then runs bursts of <c>--jobs</c>,
/// alternately without pruning and while a <see cref="RetentionPruner"/> on the silo's store deletes the old rows
/// (default settings; the silo's own retention reminder is off), twice each, and reports the mean rates and their
/// ratio, how fast rows went meanwhile, and how fast they go with no other load (20 s). A burst
/// ends at its last handler run (counting the rows of 1M+ jobs at every poll would weigh on both bursts); its jobs
/// are then checked to be stored as Succeeded.
/// </summary>
public static class RetentionBench
{
    public static async Task<bool> RunAsync(ISchedulerClient client, BenchSettings s, IHost silo, string postgres, string serviceId,
        Recorder recorder, CancellationToken ct)
    {
        await using var database = NpgsqlDataSource.Create(postgres);
        var fillTicks = Stopwatch.GetTimestamp();
        await FillAsync(database, serviceId, s.PruneRows, ct);
        var fillSeconds = Stopwatch.GetElapsedTime(fillTicks).TotalSeconds;
        Console.Error.WriteLine($"retention: {s.PruneRows} finished jobs written in {fillSeconds:0.0} s");
        await ExplainAsync(database, serviceId, ct);

        // The pruner as the silo's retention grain runs it (default settings), on the silo's store.
        var retention = new SchedulerOptions().Retention;
        var pruner = new RetentionPruner(silo.Services.GetRequiredService<IRetentionStore>(), Options.Create(new SchedulerOptions()), TimeProvider.System,
            NullLogger<RetentionPruner>.Instance);

        // Bursts alternate, without and with pruning, twice: the machine is shared, and drift hits both alike.
        var without = new List<double>();
        var with = new List<double>();
        var lost = 0;
        long prunedDuring = 0;
        var pruneSeconds = 0.0;
        for (var round = 0; round < 2; round++)
        {
            var plain = await BurstAsync(client, s, recorder, database, serviceId, ct);
            without.Add(plain.Rate);
            Console.Error.WriteLine($"retention: burst without pruning {plain.Rate:0} jobs/s");

            using var stopPruning = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var before = await CountOldAsync(database, serviceId, ct);
            var pruneTicks = Stopwatch.GetTimestamp();
            var pruning = Task.Run(() => pruner.RunAsync(stopPruning.Token), CancellationToken.None);
            // Pruning under way first (its first batches prepare its statements), then the burst; pruning stops after it.
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
            var pruned = await BurstAsync(client, s, recorder, database, serviceId, ct);
            var stillPruning = !pruning.IsCompleted;
            await stopPruning.CancelAsync();
            await ((Task)pruning).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            pruneSeconds += Stopwatch.GetElapsedTime(pruneTicks).TotalSeconds;
            var deleted = before - await CountOldAsync(database, serviceId, ct);
            prunedDuring += deleted;
            with.Add(pruned.Rate);
            lost += plain.Lost + pruned.Lost;
            Console.Error.WriteLine($"retention: burst while pruning {pruned.Rate:0} jobs/s ({deleted} rows pruned; pruning went on throughout: {stillPruning})");
        }
        // How fast the backlog drains with nothing else to do: 20 s of pruning alone.
        var idleBefore = await CountOldAsync(database, serviceId, ct);
        using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            idle.CancelAfter(TimeSpan.FromSeconds(20));
            await ((Task)Task.Run(() => pruner.RunAsync(idle.Token), CancellationToken.None)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        var left = await CountOldAsync(database, serviceId, ct);
        var idleRate = (idleBefore - left) / 20.0;
        Console.Error.WriteLine($"retention: pruning alone {idleRate:0} rows/s");
        var rateWithout = without.Average();
        var rateWith = with.Average();

        var result = new
        {
            storage = s.Storage,
            mode = s.Mode,
            jobs = s.Jobs,
            prefilled_rows = s.PruneRows,
            fill_seconds = Math.Round(fillSeconds, 1),
            jobs_per_sec_without_pruning = Math.Round(rateWithout, 1),
            jobs_per_sec_while_pruning = Math.Round(rateWith, 1),
            ratio = Math.Round(rateWith / rateWithout, 3),
            bursts_without = without.Select(r => Math.Round(r, 1)).ToArray(),
            bursts_while_pruning = with.Select(r => Math.Round(r, 1)).ToArray(),
            pruned_rows = prunedDuring,
            prune_seconds = Math.Round(pruneSeconds, 1),
            prune_rows_per_sec_during_bursts = Math.Round(prunedDuring / pruneSeconds, 0),
            prune_rows_per_sec_alone = Math.Round(idleRate, 0),
            old_rows_left = left,
            lost,
            batch_size = retention.BatchSize,
            batch_pause_ms = retention.BatchPause.TotalMilliseconds,
            max_duty_cycle = retention.MaxDutyCycle,
            capacity = s.Capacity,
        };
        Console.Error.WriteLine($"retention {s.Storage}: {result.jobs_per_sec_without_pruning} jobs/s without pruning, {result.jobs_per_sec_while_pruning} while pruning " +
            $"(ratio {result.ratio}); pruned {prunedDuring} rows in {pruneSeconds:0.0} s = {result.prune_rows_per_sec_during_bursts}/s (alone: {result.prune_rows_per_sec_alone}/s); left {left}; lost {lost}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return lost == 0;
    }

    private readonly record struct Burst(double Rate, int Lost);

    private static async Task<Burst> BurstAsync(ISchedulerClient client, BenchSettings s, Recorder recorder, NpgsqlDataSource database, string serviceId,
        CancellationToken ct)
    {
        var requests = Enumerable.Range(0, s.Jobs).Select(_ => new JobRequest { Handler = RecordingNoopHandler.Name, Id = JobId.New() }).ToArray();
        var first = Stopwatch.GetTimestamp();
        using (var gate = new SemaphoreSlim(4))
        {
            await Task.WhenAll(requests.Chunk(s.Batch).Select(async chunk =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    await client.SubmitManyAsync(chunk, ct);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        var deadline = DateTime.UtcNow + s.Timeout;
        while (requests.Any(r => !recorder.Runs.ContainsKey(r.Id!.Value.Value)) && DateTime.UtcNow < deadline)
            await Task.Delay(20, ct);
        var seconds = Stopwatch.GetElapsedTime(first).TotalSeconds;
        var ran = requests.Count(r => recorder.Runs.ContainsKey(r.Id!.Value.Value));

        // Stored as Succeeded (the last writes land a moment after their handlers return).
        var ids = requests.Select(r => r.Id!.Value.ToString()).ToArray();
        long stored = 0;
        while (DateTime.UtcNow < deadline)
        {
            await using var command = database.CreateCommand(
                "SELECT count(*) FROM scheduler_jobs WHERE service_id = $1 AND job_id = ANY($2) AND state = 3");
            command.Parameters.AddWithValue(serviceId);
            command.Parameters.AddWithValue(ids);
            stored = (long)(await command.ExecuteScalarAsync(ct))!;
            if (stored == ids.Length)
                break;
            await Task.Delay(100, ct);
        }
        return new Burst(ran / seconds, s.Jobs - (int)stored);
    }

    // Server-side, in one statement per table: ids from md5 (canonical GUID text), ended 30 days ago, a millisecond apart.
    private static async Task FillAsync(NpgsqlDataSource database, string serviceId, int rows, CancellationToken ct)
    {
        var ended = (DateTimeOffset.UtcNow - TimeSpan.FromDays(30)).UtcTicks;
        await ExecuteAsync(database, """
            INSERT INTO scheduler_jobs (service_id, job_id, queue, shard, priority, tenant, handler, state, attempt,
                                        created_at, updated_at, version, data, size_hint)
            SELECT $1, md5($1 || g::text)::uuid::text, 'default', g % 4, 50, 'default', 'bench.noop', 3, 1,
                   $3 + g * 10000 - 50000, $3 + g * 10000, 3, decode(repeat('5a', 160), 'hex'), 0
            FROM generate_series(1::bigint, $2::bigint) AS g
            """, [serviceId, rows, ended], ct);
        await ExecuteAsync(database, """
            INSERT INTO scheduler_job_history (service_id, job_id, ts, state, attempt, silo, reason)
            SELECT j.service_id, j.job_id, j.updated_at - 3 + s.k, s.k, CASE WHEN s.k = 1 THEN 0 ELSE 1 END,
                   CASE WHEN s.k = 1 THEN NULL ELSE '127.0.0.1:11111@1' END, NULL
            FROM scheduler_jobs AS j CROSS JOIN (VALUES (1), (2), (3)) AS s(k)
            WHERE j.service_id = $1 AND j.state = 3 AND j.updated_at < $2
            """, [serviceId, ended + (long)rows * 10000 + 1], ct);
        await ExecuteAsync(database, "ANALYZE scheduler_jobs; ANALYZE scheduler_job_history", [], ct);
    }

    // The plan of one batch on the full table, executed and rolled back.
    private static async Task ExplainAsync(NpgsqlDataSource database, string serviceId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + SqlJobStore.PruneJobsSql(JobState.Succeeded), connection, transaction);
        command.Parameters.AddWithValue("service_id", serviceId);
        command.Parameters.AddWithValue("before", (DateTimeOffset.UtcNow - TimeSpan.FromDays(7)).UtcTicks);
        command.Parameters.AddWithValue("limit", 500);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                Console.Error.WriteLine("  plan: " + reader.GetString(0));
        }
        await transaction.RollbackAsync(ct);
    }

    private static async Task<long> CountOldAsync(NpgsqlDataSource database, string serviceId, CancellationToken ct)
    {
        await using var command = database.CreateCommand(
            "SELECT count(*) FROM scheduler_jobs WHERE service_id = $1 AND state = 3 AND workflow_id IS NULL AND updated_at < $2");
        command.Parameters.AddWithValue(serviceId);
        command.Parameters.AddWithValue((DateTimeOffset.UtcNow - TimeSpan.FromDays(7)).UtcTicks);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource database, string sql, object[] parameters, CancellationToken ct)
    {
        await using var command = database.CreateCommand(sql);
        command.CommandTimeout = 0;
        foreach (var parameter in parameters)
            command.Parameters.AddWithValue(parameter);
        await command.ExecuteNonQueryAsync(ct);
    }
}
