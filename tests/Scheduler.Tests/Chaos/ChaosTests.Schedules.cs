using Scheduler.Client;

namespace Scheduler.Tests.Chaos;

public sealed partial class ChaosTests
{
    /// <summary>
    /// A schedule every 2 s (AllowAll, FireAll: every occurrence must run) on two silo processes on PostgreSQL, while
    /// each silo in turn is killed with -9 and restarted: one of the kills takes the silo that holds the schedule's
    /// grain. Every occurrence from the first to the last runs, under its derived id, and none twice.
    /// </summary>
    [Fact]
    public async Task Schedule_FiresEveryOccurrenceOnce_WhenItsSiloIsKilled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var interval = TimeSpan.FromSeconds(2);
        var (cluster, client, definition) = await StartWithScheduleAsync("chaos-every-2s", interval, cts.Token);
        await using var _ = cluster;

        foreach (var silo in cluster.Silos)
        {
            await Task.Delay(interval * 3, cts.Token);
            cluster.Log($"killing {silo.Name}");
            silo.Kill();
            await Task.Delay(interval * 3, cts.Token);
            await silo.StartAsync(TimeSpan.FromSeconds(90), cts.Token);
            await cluster.WaitForActiveSilosAsync(2, cts.Token);
        }
        await Task.Delay(interval * 3, cts.Token);
        await client.PauseScheduleAsync(definition.Id, "test over", cts.Token);

        // Paused, the schedule has no reminder: it must still learn how its last runs ended.
        ScheduleStatus status;
        var settleBy = DateTime.UtcNow.AddMinutes(1);
        do
        {
            await Task.Delay(500, cts.Token);
            status = (await client.GetScheduleAsync(definition.Id, 0, cts.Token))!;
        } while (status.LastRuns.Any(r => r.Outcome == ScheduleRunOutcome.Running) && DateTime.UtcNow < settleBy);

        var runs = status.LastRuns.OrderBy(r => r.Occurrence).ToList();
        var described = $"created {status.CreatedAt:O}, runs:\n{string.Join("\n", runs)}";
        cluster.Log(described);
        Assert.False(runs.Any(r => r.Outcome == ScheduleRunOutcome.Running), "a run is still running a minute after the pause: " + described);
        Assert.True(runs.Count >= 10, described);
        Assert.True(runs.Select((r, i) => r.Occurrence == status.CreatedAt + interval * (i + 1)).All(x => x), "an occurrence is missing or doubled: " + described);
        Assert.True(runs.All(r => r.Outcome == ScheduleRunOutcome.Succeeded), described);
        Assert.All(runs, r => Assert.Equal(ScheduleIds.RunIdOf(definition.Id, status.CreatedAt, r.Occurrence), r.RunId));
        Assert.Equal(runs.Count, status.RunCount);

        // How late each occurrence started (the issue's "within 2 s of its time" after a kill): reported, not asserted.
        foreach (var run in runs)
        {
            var job = await client.GetStatusAsync(new JobId(run.RunId), cts.Token);
            cluster.Log($"occurrence {run.Occurrence:HH:mm:ss.fff} started {(job!.StartedAt!.Value - run.Occurrence).TotalMilliseconds:0} ms late on {job.Silo}");
        }
        cluster.Passed();
    }

    /// <summary>
    /// A schedule every 10 s on two silo processes on PostgreSQL; just after an occurrence, the silo that holds the
    /// schedule's grain is killed with -9. The next occurrences run on the other silo, each once. How late each started
    /// is logged (the issue's "within 2 s of its time"); timing is not asserted.
    /// </summary>
    [Fact]
    public async Task Schedule_NextOccurrenceRunsOnTheOtherSilo_WhenTheSiloHoldingItIsKilled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var interval = TimeSpan.FromSeconds(10);
        var (cluster, client, definition) = await StartWithScheduleAsync("failover-every-10s", interval, cts.Token);
        await using var _ = cluster;

        // Just after the first occurrence, kill the silo that holds the schedule.
        ScheduleStatus status;
        do
        {
            await Task.Delay(100, cts.Token);
            status = (await client.GetScheduleAsync(definition.Id, 0, cts.Token))!;
        } while (status.RunCount == 0);
        var holder = await cluster.SiloOfAsync(cluster.Grain<IScheduleGrain>(definition.Id));
        Assert.NotNull(holder);
        var killedAt = DateTimeOffset.UtcNow;
        cluster.Log($"killing {holder.Name}, which holds the schedule");
        holder.Kill();

        // Three more occurrences on the survivor, then stop. Until the kill is noticed, the schedule does not answer.
        while (true)
        {
            await Task.Delay(500, cts.Token);
            try
            {
                status = (await client.GetScheduleAsync(definition.Id, 0, cts.Token))!;
            }
            catch (SchedulerException e)
            {
                cluster.Log($"schedule not reachable yet: {e.Message[..Math.Min(80, e.Message.Length)]}");
                continue;
            }
            if (status.LastRuns.Count(r => r.Occurrence > killedAt && r.Outcome == ScheduleRunOutcome.Succeeded) >= 3)
                break;
        }
        await client.PauseScheduleAsync(definition.Id, "test over", cts.Token);

        var runs = status.LastRuns.OrderBy(r => r.Occurrence).ToList();
        var described = $"created {status.CreatedAt:O}, killed at {killedAt:O}, runs:\n{string.Join("\n", runs)}";
        cluster.Log(described);
        Assert.True(runs.Select((r, i) => r.Occurrence == status.CreatedAt + interval * (i + 1)).All(x => x), "an occurrence is missing or doubled: " + described);
        foreach (var run in runs.Where(r => r.Outcome == ScheduleRunOutcome.Succeeded))
        {
            var job = await client.GetStatusAsync(new JobId(run.RunId), cts.Token);
            cluster.Log($"occurrence {run.Occurrence:HH:mm:ss.fff} ({(run.Occurrence - killedAt).TotalSeconds:0.0} s after the kill) started {(job!.StartedAt!.Value - run.Occurrence).TotalMilliseconds:0} ms late on {job.Silo}");
        }
        var survivor = cluster.Silos.Single(s => s != holder);
        Assert.True(runs.Where(r => r.Occurrence > killedAt).All(r => r.Outcome is ScheduleRunOutcome.Succeeded or ScheduleRunOutcome.Running), described);
        cluster.Log($"survivor {survivor.Name} on port {survivor.SiloPort}");
        cluster.Passed();
    }

    /// <summary>
    /// Two silo processes on a new PostgreSQL database, and a schedule of a short command every
    /// <paramref name="interval"/> under which every occurrence must run (AllowAll, FireAll).
    /// </summary>
    private async Task<(ChaosCluster Cluster, ISchedulerClient Client, ScheduleDefinition Definition)> StartWithScheduleAsync(
        string id, TimeSpan interval, CancellationToken cancellationToken)
    {
        var database = await _postgres!.Server.CreateDatabaseAsync(id.Replace('-', '_'), cancellationToken);
        var cluster = await ChaosCluster.CreateAsync(output, database, silos: 2, maxConcurrentJobs: 4, cancellationToken);
        try
        {
            await cluster.StartAllAsync(cancellationToken);
            var client = await cluster.ConnectAsync(cancellationToken);
            await cluster.WaitForActiveSilosAsync(2, cancellationToken);
            var definition = new ScheduleDefinition
            {
                Id = id,
                Job = Command(ShortSleep),
                Trigger = ScheduleTrigger.Every(interval),
                Overlap = ScheduleOverlapPolicy.AllowAll,
                Missed = ScheduleMissedPolicy.FireAll,
            };
            await client.UpsertScheduleAsync(definition, cancellationToken);
            return (cluster, client, definition);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }
}
