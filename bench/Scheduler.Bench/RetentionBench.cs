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
/// (three history rows each), prints the plan of a pruning batch on that table, then runs a burst of <c>--jobs</c>
/// without pruning and one while a <see cref="RetentionPruner"/> on the silo's store deletes the old rows (default
/// batch size and pause; the silo's own retention reminder is off), and reports both rates and their ratio. A burst
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

        var without = await BurstAsync(client, s, recorder, database, serviceId, ct);
        Console.Error.WriteLine($"retention: burst without pruning {without.Rate:0} jobs/s");

        // The pruner as the silo's retention grain runs it (default settings), on the silo's store.
        var retention = new SchedulerOptions().Retention;
        var pruner = new RetentionPruner(silo.Services.GetRequiredService<IRetentionStore>(), Options.Create(new SchedulerOptions()), TimeProvider.System,
            NullLogger<RetentionPruner>.Instance);
        using var stopPruning = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pruneTicks = Stopwatch.GetTimestamp();
        var pruning = Task.Run(() => pruner.RunAsync(stopPruning.Token), CancellationToken.None);
        // Pruning under way first (its first batches warm its statements), then the burst.
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var prunedBefore = await CountOldAsync(database, serviceId, ct);
        var with = await BurstAsync(client, s, recorder, database, serviceId, ct);
        var prunedDuring = prunedBefore - await CountOldAsync(database, serviceId, ct);
        var stillPruning = !pruning.IsCompleted;
        Console.Error.WriteLine($"retention: burst while pruning {with.Rate:0} jobs/s ({prunedDuring} rows pruned during it; pruning still going: {stillPruning})");
        var run = await pruning.WaitAsync(s.Timeout, ct);
        var pruneSeconds = Stopwatch.GetElapsedTime(pruneTicks).TotalSeconds;
        var left = await CountOldAsync(database, serviceId, ct);

        var result = new
        {
            storage = s.Storage,
            mode = s.Mode,
            jobs = s.Jobs,
            prefilled_rows = s.PruneRows,
            fill_seconds = Math.Round(fillSeconds, 1),
            jobs_per_sec_without_pruning = Math.Round(without.Rate, 1),
            jobs_per_sec_while_pruning = Math.Round(with.Rate, 1),
            ratio = Math.Round(with.Rate / without.Rate, 3),
            pruned_during_burst = prunedDuring,
            pruning_active_throughout_burst = stillPruning,
            pruned_total = run.Jobs,
            prune_seconds = Math.Round(pruneSeconds, 1),
            prune_rows_per_sec = Math.Round(run.Jobs / pruneSeconds, 0),
            prune_batches = run.Batches,
            old_rows_left = left,
            lost = without.Lost + with.Lost,
            batch_size = retention.BatchSize,
            batch_pause_ms = retention.BatchPause.TotalMilliseconds,
            capacity = s.Capacity,
        };
        Console.Error.WriteLine($"retention {s.Storage}: {result.jobs_per_sec_without_pruning} jobs/s without pruning, {result.jobs_per_sec_while_pruning} while pruning " +
            $"(ratio {result.ratio}); pruned {run.Jobs} rows in {pruneSeconds:0.0} s = {result.prune_rows_per_sec}/s; left {left}; lost {result.lost}");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return result.lost == 0 && left == 0;
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
            FROM generate_series(1, $2) AS g
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
