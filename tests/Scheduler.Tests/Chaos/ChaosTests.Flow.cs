using System.Collections.Concurrent;
using System.Diagnostics;
using Scheduler.Client;

namespace Scheduler.Tests.Chaos;

public sealed partial class ChaosTests
{
    /// <summary>
    /// Issue 16: three silo processes, 2,000 command jobs over 50 concurrency keys (limits 1 to 3) and 5 rate-limited
    /// keys, silos killed with -9 and restarted while they run. From the attempts' recorded runs: no key ever has more
    /// overlapping runs than its limit; from the jobs' start times (when their keys granted them): no window of a
    /// rate-limited key holds more starts than its limit; no job is lost.
    /// </summary>
    [Fact]
    public async Task KeysAndRateLimits_HoldAcrossTheCluster_WhenSilosAreKilled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SCHEDULER_CHAOS_SEED"), out var s) ? s : 20261206;
        var random = new Random(seed);
        var database = await _postgres!.Server.CreateDatabaseAsync("chaosflow", cts.Token);
        await using var cluster = await ChaosCluster.CreateAsync(output, database, silos: 3, maxConcurrentJobs: 8, cts.Token);
        await cluster.StartAllAsync(cts.Token);
        var client = await cluster.ConnectAsync(cts.Token);
        await cluster.WaitForActiveSilosAsync(3, cts.Token);
        await using var recorder = new AttemptRecorder(Path.Combine(cluster.Directory, "recorder"));
        recorder.StartWatching();

        const int total = 2_000, kills = 3;
        var keys = Enumerable.Range(0, 50).Select(i => new ConcurrencyKey($"chaos:{i}", 1 + i % 3)).ToArray();
        var rate = new RateLimit(20, TimeSpan.FromSeconds(2));
        var rateKeys = Enumerable.Range(0, 5).Select(i => $"chaos-api:{i}").ToArray();
        foreach (var key in rateKeys)
            await client.SetKeyLimitsAsync(key, new KeySettings { Rate = rate }, cts.Token);

        var held = new Dictionary<Guid, string[]>();
        var requests = new List<JobRequest>();
        for (var i = 0; i < total; i++)
        {
            var mine = keys.OrderBy(_ => random.Next()).Take(random.Next(1, 3)).ToList();
            if (random.Next(10) == 0)
                mine.Add(new ConcurrencyKey(rateKeys[random.Next(rateKeys.Length)]));
            var request = Command(recorder.CommandRecordingEnd(TimeSpan.FromMilliseconds(random.Next(20, 101)))) with
            {
                Id = JobId.New(),
                Limits = new JobLimits { MaxAttempts = 10 },
                Concurrency = [.. mine],
            };
            held[request.Id!.Value.Value] = [.. mine.Select(k => k.Key)];
            requests.Add(request);
        }
        var clock = Stopwatch.StartNew();
        foreach (var chunk in requests.Chunk(500))
            await SubmitWithRetriesAsync(client, chunk, cts.Token);

        // The killer: every 3-7 s a random healthy silo (never the last) is killed and restarted 1-4 s later.
        var killed = new ConcurrentDictionary<string, long>();
        var restarts = new ConcurrentBag<Task>();
        using var allDone = new CancellationTokenSource();
        var killer = Task.Run(async () =>
        {
            for (var i = 0; i < kills && !allDone.IsCancellationRequested; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(3_000, 7_001)), allDone.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                var candidates = cluster.Silos.Where(x => x.Run is not null && !killed.ContainsKey(x.Run)).ToList();
                if (allDone.IsCancellationRequested || candidates.Count < 2)
                    return;
                var victim = candidates[random.Next(candidates.Count)];
                killed[victim.Run!] = AttemptRecorder.Now();
                victim.Kill();
                cluster.Log($"kill {i + 1}: killed {victim.Run} at {clock.Elapsed.TotalSeconds:0.0} s");
                restarts.Add(Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(1_000, 4_001)), cts.Token);
                    await victim.StartAsync(TimeSpan.FromSeconds(120), cts.Token);
                }, cts.Token));
            }
        }, cts.Token);
        try
        {
            await WaitUntilFinalAsync(client, total, TimeSpan.FromMinutes(6), cluster, cts.Token);
        }
        finally
        {
            await allDone.CancelAsync();
        }
        await killer;
        await Task.WhenAll(restarts);

        var rows = await client.ListAsync(new JobFilter { Limit = JobFilter.MaxLimit }, cts.Token);
        Assert.Equal(held.Keys.ToHashSet(), rows.Select(r => r.Id.Value).ToHashSet());
        Assert.All(rows, r => Assert.Equal(JobState.Succeeded, r.State));
        var statuses = new ConcurrentDictionary<Guid, JobStatus>();
        await Parallel.ForEachAsync(held.Keys, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cts.Token },
            async (id, ct) => statuses[id] = (await client.GetStatusAsync(new JobId(id), ct))!);

        Dictionary<Guid, SortedDictionary<int, RecordedAttempt>> recorded = [];
        await EventuallyAsync(() => (recorded = recorder.Read()).Values.SelectMany(a => a.Values).All(a => a.End is not null),
            TimeSpan.FromSeconds(30), cts.Token);
        var unended = recorded.Values.SelectMany(a => a.Values).Count(a => a.End is null);
        Assert.True(unended == 0, $"{unended} recorded attempts never ended");
        var worst = new List<string>();
        foreach (var key in keys)
        {
            var runs = recorded.Where(r => held[r.Key].Contains(key.Key)).SelectMany(r => r.Value.Values).ToList();
            var edges = runs.SelectMany(r => new[] { (At: r.Start, Delta: 1), (At: r.End ?? long.MaxValue, Delta: -1) }).OrderBy(e => e.At).ThenBy(e => e.Delta);
            int now = 0, most = 0;
            foreach (var edge in edges)
                most = Math.Max(most, now += edge.Delta);
            if (most > key.Limit)
                worst.Add($"{key.Key} (limit {key.Limit}) had {most} runs at once");
        }
        Assert.True(worst.Count == 0, string.Join("; ", worst));
        foreach (var key in rateKeys)
        {
            var starts = held.Where(h => h.Value.Contains(key)).Select(h => statuses[h.Key].StartedAt!.Value).Order().ToList();
            for (var i = 0; i + rate.Count < starts.Count; i++)
                Assert.True(starts[i + rate.Count] - starts[i] >= rate.Window, $"{key}: {rate.Count + 1} starts within {rate.Window} from {starts[i]:O}");
        }
        cluster.Log($"flow chaos summary: {total} jobs, {killed.Count} kills, {recorded.Values.Sum(a => a.Count)} attempts recorded, " +
            $"{clock.Elapsed.TotalSeconds:0.0} s; no key over its limit, no rate window over its rate");
        cluster.Passed();
    }
}
