using System.Diagnostics;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Scheduler.Tests.Chaos;

/// <summary>
/// Failures of real processes: silos run as separate <c>dotnet Scheduler.Silo.dll</c> processes on real PostgreSQL and
/// Redis (loopback), and are killed, stopped and restarted under load. The tests of this class run one after another.
/// </summary>
public sealed partial class ChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly CommandJob ShortSleep = new() { Executable = "/bin/sleep", Arguments = ["0.05"] };

    private PostgresServer.Lease? _postgres;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _postgres = await PostgresServer.AcquireAsync(cts.Token).WaitAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task EveryJob_Succeeds_WhenOneOfTwoSilosIsKilledMidRun()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var database = await _postgres!.Server.CreateDatabaseAsync("chaos", cts.Token);
        await using var cluster = await ChaosCluster.CreateAsync(output, database, silos: 2, maxConcurrentJobs: 8, cts.Token);
        await cluster.StartAllAsync(cts.Token);
        var client = await cluster.ConnectAsync(cts.Token);
        await cluster.WaitForActiveSilosAsync(2, cts.Token);

        const int total = 2_000;
        var requests = Enumerable.Range(0, total).Select(_ => Command(ShortSleep) with { Id = JobId.New() }).ToList();
        var ids = requests.Select(r => r.Id!.Value).ToHashSet();
        var clock = Stopwatch.StartNew();
        var accepted = await client.SubmitManyAsync(requests, cts.Token);
        Assert.Equal(total, accepted.Count);
        cluster.Log($"submitted {total} jobs in {clock.Elapsed.TotalSeconds:0.0} s");

        // Kill a silo that is running jobs, once a fair part of the work is done.
        long succeededAtKill;
        while ((succeededAtKill = await CountAsync(client, JobState.Succeeded, cts.Token)) < total / 5)
            await Task.Delay(100, cts.Token);
        var victim = cluster.Silos[1];
        var running = await RunningOnAsync(victim, cts.Token);
        victim.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        var sinceKill = Stopwatch.StartNew();
        cluster.Log($"killed {victim.Name} (it ran {running} jobs) with {succeededAtKill} of {total} succeeded, {clock.Elapsed.TotalSeconds:0.0} s in");
        Assert.True(running > 0, "the victim should have had jobs in flight");

        await WaitUntilAsync(client, total, TimeSpan.FromSeconds(150), cluster, cts.Token);
        var allDone = sinceKill.Elapsed;

        var succeeded = await client.ListAsync(new JobFilter { State = JobState.Succeeded, Limit = JobFilter.MaxLimit }, cts.Token);
        Assert.Equal(ids, succeeded.Select(j => j.Id).ToHashSet());
        var retried = succeeded.Where(j => j.Attempt > 1).ToList();
        var lastRetried = retried.Count == 0 ? TimeSpan.Zero : retried.Max(j => j.UpdatedAt) - killedAt;
        cluster.Log($"all {total} succeeded {allDone.TotalSeconds:0.0} s after the kill ({clock.Elapsed.TotalSeconds:0.0} s in all); " +
            $"{retried.Count} jobs ran again, the last of them finished {lastRetried.TotalSeconds:0.0} s after the kill");
        Assert.NotEmpty(retried);
        cluster.Passed();
    }

    [Fact]
    public async Task QueuedJobs_SurviveAWholeClusterRestart_AndHighPriorityStartsFirst()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var database = await _postgres!.Server.CreateDatabaseAsync("chaos", cts.Token);
        await using var cluster = await ChaosCluster.CreateAsync(output, database, silos: 2, maxConcurrentJobs: 1, cts.Token);
        await cluster.StartAllAsync(cts.Token);
        var client = await cluster.ConnectAsync(cts.Token);
        await cluster.WaitForActiveSilosAsync(2, cts.Token);

        const int low = 10, high = 90;
        var sleep = new CommandJob { Executable = "/bin/sleep", Arguments = ["0.4"] };
        var lows = await client.SubmitManyAsync([.. Enumerable.Range(0, 20).Select(_ => Command(sleep) with { Priority = low })], cts.Token);
        var highs = await client.SubmitManyAsync([.. Enumerable.Range(0, 20).Select(_ => Command(sleep) with { Priority = high })], cts.Token);
        var all = lows.Concat(highs).Select(r => r.Id).ToList();
        while (await CountAsync(client, JobState.Succeeded, cts.Token) < 2)
            await Task.Delay(50, cts.Token);

        var stopping = Stopwatch.StartNew();
        await Task.WhenAll(cluster.Silos.Select(s => s.StopGracefullyAsync(TimeSpan.FromSeconds(40), cts.Token)));
        cluster.Log($"both silos stopped (SIGTERM) in {stopping.Elapsed.TotalSeconds:0.0} s");
        var restartedAt = DateTimeOffset.UtcNow;
        var restart = Stopwatch.StartNew();
        await cluster.StartAllAsync(cts.Token);
        cluster.Log($"both silos healthy again {restart.Elapsed.TotalSeconds:0.0} s after the restart began");
        client = await cluster.ConnectAsync(cts.Token);

        await WaitUntilAsync(client, all.Count, TimeSpan.FromSeconds(120), cluster, cts.Token);
        cluster.Log($"all {all.Count} jobs succeeded {restart.Elapsed.TotalSeconds:0.0} s after the restart began");

        var statuses = new List<JobStatus>();
        foreach (var id in all)
            statuses.Add((await client.GetStatusAsync(id, cts.Token))!);
        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        // Jobs that (last) started after the restart were queued across it.
        var after = statuses.Where(s => s.StartedAt >= restartedAt).ToList();
        var highAfter = after.Where(s => s.Priority == high).ToList();
        var lowAfter = after.Where(s => s.Priority == low).ToList();
        cluster.Log($"queued across the restart: {highAfter.Count} high, {lowAfter.Count} low");
        Assert.NotEmpty(highAfter);
        Assert.NotEmpty(lowAfter);
        var lastHigh = highAfter.Max(s => s.StartedAt!.Value);
        var early = lowAfter.Where(s => s.StartedAt < lastHigh).ToList();
        Assert.True(early.Count == 0,
            $"{early.Count} low-priority jobs started before the last high-priority one ({lastHigh:HH:mm:ss.fff}): " +
            string.Join(", ", early.Select(s => $"{s.Id} at {s.StartedAt:HH:mm:ss.fff}")));
        cluster.Passed();
    }

    [Fact]
    public async Task EveryJob_Succeeds_WhenPostgresRestartsUnderLoad()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        // A server of its own: the shared one serves other tests, which must not see it restart.
        var postgres = await PostgresServer.StartDedicatedAsync(cts.Token);
        try
        {
            var database = await postgres.CreateDatabaseAsync("chaos", cts.Token);
            await using var cluster = await ChaosCluster.CreateAsync(output, database, silos: 2, maxConcurrentJobs: 4, cts.Token);
            await cluster.StartAllAsync(cts.Token);
            var client = await cluster.ConnectAsync(cts.Token);
            await cluster.WaitForActiveSilosAsync(2, cts.Token);

            var submitted = new List<JobId>();
            var failedSubmits = 0;
            var restartDone = false;
            var clock = Stopwatch.StartNew();
            var restart = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(3), cts.Token);
                cluster.Log("restarting PostgreSQL");
                var outage = Stopwatch.StartNew();
                await postgres.RestartAsync(TimeSpan.FromSeconds(2), cts.Token);
                cluster.Log($"PostgreSQL is back after {outage.Elapsed.TotalSeconds:0.0} s");
                Volatile.Write(ref restartDone, true);
            }, cts.Token);

            // Batches of 20 every 200 ms, before, during and after the outage; a batch that fails is sent again with
            // the same ids (idempotent) until it is accepted.
            var afterRestart = Stopwatch.StartNew();
            while (!Volatile.Read(ref restartDone) || afterRestart.Elapsed < TimeSpan.FromSeconds(3))
            {
                if (!Volatile.Read(ref restartDone))
                    afterRestart.Restart();
                var batch = Enumerable.Range(0, 20).Select(_ => Command(ShortSleep) with { Id = JobId.New() }).ToList();
                for (var tries = 1; ; tries++)
                {
                    try
                    {
                        using var call = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                        call.CancelAfter(TimeSpan.FromSeconds(20));
                        await client.SubmitManyAsync(batch, call.Token);
                        break;
                    }
                    catch (Exception e) when (e is SchedulerException or OperationCanceledException && !cts.IsCancellationRequested && tries < 60)
                    {
                        failedSubmits++;
                        await Task.Delay(500, cts.Token);
                    }
                }
                submitted.AddRange(batch.Select(r => r.Id!.Value));
                await Task.Delay(200, cts.Token);
            }
            await restart;
            cluster.Log($"submitted {submitted.Count} jobs in {clock.Elapsed.TotalSeconds:0.0} s; {failedSubmits} submit calls failed and were retried");

            var recovery = Stopwatch.StartNew();
            await WaitUntilAsync(client, submitted.Count, TimeSpan.FromSeconds(120), cluster, cts.Token, submitted);
            cluster.Log($"all {submitted.Count} jobs succeeded, {recovery.Elapsed.TotalSeconds:0.0} s after the last submit");
            var succeeded = await client.ListAsync(new JobFilter { State = JobState.Succeeded, Limit = JobFilter.MaxLimit }, cts.Token);
            Assert.Equal(submitted.ToHashSet(), succeeded.Select(j => j.Id).ToHashSet());
            cluster.Passed();
        }
        finally
        {
            await postgres.DisposeDedicatedAsync();
        }
    }

    private static JobRequest Command(CommandJob command) =>
        new() { Handler = CommandJob.HandlerName, Payload = SchedulerClientExtensions.ToPayload(command) };

    /// <summary>Jobs in <paramref name="state"/>; a call that fails (a gateway just died) is retried.</summary>
    private static async Task<long> CountAsync(ISchedulerClient client, JobState state, CancellationToken cancellationToken)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                var stats = await client.GetStatsAsync(cancellationToken);
                return stats.ByState.GetValueOrDefault(state);
            }
            catch (SchedulerException) when (tries < 50)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }

    /// <summary>Slots busy on a silo, from its /health text ("taking work; N of M slots busy").</summary>
    private static async Task<int> RunningOnAsync(SiloProcess silo, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var body = await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/health", cancellationToken);
        var match = System.Text.RegularExpressions.Regex.Match(body, @"(\d+) of \d+ slots busy");
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Waits until <paramref name="expected"/> jobs have succeeded; on timeout, fails with what is left.</summary>
    private static async Task WaitUntilAsync(ISchedulerClient client, int expected, TimeSpan timeout, ChaosCluster cluster,
        CancellationToken cancellationToken, IReadOnlyCollection<JobId>? ids = null)
    {
        var deadline = Stopwatch.StartNew();
        var last = -1L;
        while (true)
        {
            var succeeded = await CountAsync(client, JobState.Succeeded, cancellationToken);
            if (succeeded >= expected)
                return;
            if (succeeded != last)
                last = succeeded;
            if (deadline.Elapsed > timeout)
            {
                var stats = await client.GetStatsAsync(cancellationToken);
                var detail = string.Join(", ", stats.ByState.Select(kv => $"{kv.Key}={kv.Value}"));
                var stuck = new List<string>();
                if (ids is not null)
                {
                    var done = (await client.ListAsync(new JobFilter { State = JobState.Succeeded, Limit = JobFilter.MaxLimit }, cancellationToken))
                        .Select(j => j.Id).ToHashSet();
                    foreach (var id in ids.Where(i => !done.Contains(i)).Take(10))
                    {
                        var status = await client.GetStatusAsync(id, cancellationToken);
                        stuck.Add(status is null ? $"{id}: not found" : $"{id}: {status.State} attempt {status.Attempt} silo {status.Silo} error {status.LastError}");
                    }
                }
                cluster.Log($"stats: {detail}\n{string.Join("\n", stuck)}");
                Assert.Fail($"only {succeeded} of {expected} jobs succeeded within {timeout}; by state: {detail}\n{string.Join("\n", stuck)}");
            }
            await Task.Delay(250, cancellationToken);
        }
    }
}
