using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.FlowControl;

[Collection(FlowClusterCollection.Name)]
public sealed class ConcurrencyKeyTests(FlowClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private ISchedulerClient Client => fixture.Client;
    private ExecutionBook Book => fixture.Book;

    private async Task<JobStatus[]> AllFinalAsync(IEnumerable<SubmitResult> jobs, CancellationToken cancellationToken) =>
        await Task.WhenAll(jobs.Select(async j => (await Client.WaitForFinalAsync(j.Id, Patience, cancellationToken))!));

    [Fact]
    public async Task Mutex_NeverRunsTwoHoldersAtOnce()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"mutex-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"upload:{tag}");
        var jobs = await Client.SubmitManyAsync([.. Enumerable.Range(0, 10).Select(_ => FlowClusterFixture.Keyed(tag, 100, key))], cts.Token);

        var statuses = await AllFinalAsync(jobs, cts.Token);

        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        Assert.Equal(10, Book.Tagged(tag).Count);
        Assert.Equal(1, FlowClusterFixture.MostAtOnce(Book.Tagged(tag)));
        Assert.Empty((await Client.GetKeyAsync(key.Key, cts.Token)).Holders);
    }

    [Fact]
    public async Task Retry_ThatFindsItsKeyHeld_RunsOnceTheKeyIsFree()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"retry-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"upload:{tag}");
        // The first attempt fails at once; its retry, due 3 s later, finds the key taken by a 4 s job.
        var retried = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key) with
        {
            Payload = Payloads.Work(tag: tag, failTimes: 1),
            Retry = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(3), Jitter = RetryJitter.None },
        }, cts.Token);
        while (Book.Of(retried.Id).Count == 0)
            await Task.Delay(20, cts.Token);
        var holder = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 4_000, key), cts.Token);

        // Well under the retry reminder's minute: the key's wake must queue it, not the backstop that ticks a minute on.
        var status = await Client.WaitForFinalAsync(retried.Id, TimeSpan.FromSeconds(40), cts.Token);

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Equal(2, status.Attempt);
        var held = Book.Of(holder.Id).Single();
        Assert.True(Book.Of(retried.Id)[1].Started >= held.Ended, "the retry ran while the holder held the key");
    }

    [Fact]
    public async Task WorkflowJobs_HoldTheirKeysToo()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"wf-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"upload:{tag}");
        var submitted = await Client.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Jobs = [.. Enumerable.Range(0, 5).Select(i => new WorkflowJob
            {
                Name = $"agent{i}",
                Handler = WorkHandler.Name,
                Payload = Payloads.Work(sleepMs: 100, tag: tag),
                Concurrency = [key],
            })],
        }, cts.Token);

        var status = await Client.WaitForWorkflowAsync(submitted.Id, Patience, cts.Token);

        Assert.Equal(WorkflowState.Succeeded, status!.State);
        Assert.Equal(5, Book.Tagged(tag).Count);
        Assert.Equal(1, FlowClusterFixture.MostAtOnce(Book.Tagged(tag)));
    }

    [Fact]
    public async Task Semaphore_RunsAtMostItsLimitAtOnce()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"sem-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"dbhost:{tag}", 3);
        var jobs = await Client.SubmitManyAsync([.. Enumerable.Range(0, 15).Select(_ => FlowClusterFixture.Keyed(tag, 200, key))], cts.Token);

        var statuses = await AllFinalAsync(jobs, cts.Token);

        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        Assert.InRange(FlowClusterFixture.MostAtOnce(Book.Tagged(tag)), 1, 3);
    }

    [Fact]
    public async Task RandomOverlappingKeySets_AllFinish_WithinEveryLimit()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"mix-{Guid.NewGuid():N}";
        var random = new Random(16);
        var keys = Enumerable.Range(0, 6).Select(i => new ConcurrencyKey($"mix:{tag}:{i}", 1 + i % 2)).ToArray();
        var requests = new List<(JobRequest Request, ConcurrencyKey[] Keys)>();
        for (var i = 0; i < 80; i++)
        {
            var mine = keys.OrderBy(_ => random.Next()).Take(random.Next(1, 4)).ToArray();
            // Each job under its own tag too, so runs can be mapped back to its keys.
            requests.Add((FlowClusterFixture.Keyed($"{tag}:{i}", random.Next(0, 40), mine), mine));
        }

        var jobs = await Client.SubmitManyAsync([.. requests.Select(r => r.Request)], cts.Token);
        var statuses = await AllFinalAsync(jobs, cts.Token);

        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        foreach (var key in keys)
        {
            var runs = requests.Select((r, i) => (r, i)).Where(x => x.r.Keys.Contains(key)).SelectMany(x => Book.Tagged($"{tag}:{x.i}")).ToList();
            Assert.InRange(FlowClusterFixture.MostAtOnce(runs), 1, key.Limit!.Value);
        }
    }

    [Fact]
    public async Task FullKey_DoesNotHoldBackJobsWithOtherKeys_NorTakeWorkerSlots()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"hol-{Guid.NewGuid():N}";
        var full = new ConcurrencyKey($"hol:{tag}");
        var blocker = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag + "-blocker", 120_000, full), cts.Token);
        while (Book.Tagged(tag + "-blocker").Count == 0)
            await Task.Delay(20, cts.Token);
        // Far more waiters than the cluster has worker slots.
        var waiting = await Client.SubmitManyAsync([.. Enumerable.Range(0, 30).Select(_ => FlowClusterFixture.Keyed(tag + "-waiting", 0, full))], cts.Token);
        await fixture.WaitForWaitersAsync(full.Key, 30, cts.Token);

        var free = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag + "-free", 0, new ConcurrencyKey($"hol:{tag}:other")), cts.Token);
        var plain = await Client.SubmitAsync(Payloads.WorkJob(tag: tag + "-plain"), cts.Token);

        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(free.Id, Patience, cts.Token))!.State);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(plain.Id, Patience, cts.Token))!.State);
        Assert.Null(Book.Tagged(tag + "-blocker").Single().Ended);
        Assert.Empty(Book.Tagged(tag + "-waiting"));

        await Client.CancelAsync(blocker.Id, "test over", cts.Token);
        var statuses = await AllFinalAsync(waiting, cts.Token);
        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
    }

    [Fact]
    public async Task Waiters_StartByPriority_ThenOldestFirst()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"prio-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"prio:{tag}");
        var blocker = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag + "-blocker", 120_000, key), cts.Token);
        while (Book.Tagged(tag + "-blocker").Count == 0)
            await Task.Delay(20, cts.Token);
        var low = new List<JobId>();
        for (var i = 0; i < 4; i++)
        {
            low.Add((await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key) with { Priority = 10 }, cts.Token)).Id);
            await fixture.WaitForWaitersAsync(key.Key, i + 1, cts.Token);
        }
        var high = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key) with { Priority = 90 }, cts.Token);
        await fixture.WaitForWaitersAsync(key.Key, 5, cts.Token);

        await Client.CancelAsync(blocker.Id, "let them run", cts.Token);
        foreach (var id in low.Append(high.Id))
            Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(id, Patience, cts.Token))!.State);

        Assert.Equal([high.Id, .. low], Book.Tagged(tag).Select(r => r.Id));
    }

    [Theory]
    [InlineData("fatal")]
    [InlineData("throw")]
    [InlineData("timeout")]
    [InlineData("cancel")]
    public async Task Slot_IsReleased_WhenTheHolderEnds(string how)
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"end-{how}-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"end:{tag}");
        var holder = how switch
        {
            "timeout" => FlowClusterFixture.Keyed(tag, 120_000, key) with { Limits = new JobLimits { MaxAttempts = 1, Timeout = TimeSpan.FromMilliseconds(300) } },
            "cancel" => FlowClusterFixture.Keyed(tag, 120_000, key),
            _ => FlowClusterFixture.Keyed(tag, 0, key) with { Payload = Payloads.Work(outcome: how, tag: tag), Limits = new JobLimits { MaxAttempts = 1 } },
        };
        var first = await Client.SubmitAsync(holder, cts.Token);
        while (Book.Tagged(tag).Count == 0)
            await Task.Delay(20, cts.Token);
        var next = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag + "-next", 0, key), cts.Token);
        if (how == "cancel")
            await Client.CancelAsync(first.Id, "test", cts.Token);

        var ended = await Client.WaitForFinalAsync(first.Id, Patience, cts.Token);
        Assert.Equal(how == "cancel" ? JobState.Cancelled : JobState.Failed, ended!.State);
        Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(next.Id, Patience, cts.Token))!.State);
        Assert.Empty((await Client.GetKeyAsync(key.Key, cts.Token)).Holders);
    }

    [Fact]
    public async Task WaitForTheEnd_AnswersOnceTheSlotIsFree()
    {
        // A job's end is stored while its slots are given back; a wait arriving between the two must not answer yet.
        // Each round is short, so some waits land in that window: 16 lines of 150 rounds find it nearly always.
        using var cts = new CancellationTokenSource(Patience);
        var held = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var round = 0; round < 150; round++)
            {
                var tag = $"wait-end-{Guid.NewGuid():N}";
                var key = new ConcurrencyKey($"end:{tag}");
                // The second, set aside behind the first, starts as the first ends: the wait for it comes late.
                var first = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key), cts.Token);
                while (Book.Tagged(tag).Count == 0)
                    await Task.Delay(5, cts.Token);
                var second = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key), cts.Token);
                await Client.WaitForFinalAsync(first.Id, Patience, cts.Token);
                Assert.Equal(JobState.Succeeded, (await Client.WaitForFinalAsync(second.Id, Patience, cts.Token))!.State);
                if ((await Client.GetKeyAsync(key.Key, cts.Token)).Holders.Length > 0)
                    Interlocked.Increment(ref held);
            }
        }));
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task WaitingJob_StatusSaysWhatItWaitsFor()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"status-{Guid.NewGuid():N}";
        var key = new ConcurrencyKey($"upload:{tag}");
        var blocker = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 120_000, key), cts.Token);
        while (Book.Tagged(tag).Count == 0)
            await Task.Delay(20, cts.Token);
        var waiter = await Client.SubmitAsync(FlowClusterFixture.Keyed(tag, 0, key), cts.Token);
        await fixture.WaitForWaitersAsync(key.Key, 1, cts.Token);

        // The key records the waiter before the job hears why it waits.
        var status = await Client.GetStatusAsync(waiter.Id, cts.Token);
        while (status?.WaitingFor is null)
        {
            await Task.Delay(20, cts.Token);
            status = await Client.GetStatusAsync(waiter.Id, cts.Token);
        }
        var shown = await Client.GetKeyAsync(key.Key, cts.Token);

        Assert.Equal(JobState.Queued, status!.State);
        Assert.Equal($"waiting for {key.Key}: 1 of 1 held by {blocker.Id}", status.WaitingFor);
        Assert.Equal(blocker.Id, shown.Holders.Single().Job);
        Assert.Equal(waiter.Id, shown.Waiters.Single().Job);
        await Client.CancelAsync(blocker.Id, null, cts.Token);
        var done = await Client.WaitForFinalAsync(waiter.Id, Patience, cts.Token);
        Assert.Equal(JobState.Succeeded, done!.State);
        Assert.Null(done.WaitingFor);
    }

    [Fact]
    public async Task HandlerAndQueueDefaults_FillTheirTemplates()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tag = $"tmpl-{Guid.NewGuid():N}";
        var byHandler = await Client.SubmitManyAsync([.. Enumerable.Range(0, 6).Select(_ => Payloads.WorkJob(sleepMs: 100, tag: tag) with { Handler = FlowClusterFixture.UploadHandler })], cts.Token);
        var byQueue = await Client.SubmitManyAsync([.. Enumerable.Range(0, 6).Select(_ => Payloads.WorkJob(sleepMs: 100, tag: tag + "-q") with { Queue = FlowClusterFixture.SerialQueue })], cts.Token);

        var statuses = await AllFinalAsync(byHandler.Concat(byQueue), cts.Token);

        Assert.All(statuses, s => Assert.Equal(JobState.Succeeded, s.State));
        Assert.Equal(1, FlowClusterFixture.MostAtOnce(Book.Tagged(tag)));
        Assert.Equal(1, FlowClusterFixture.MostAtOnce(Book.Tagged(tag + "-q")));
        Assert.Equal("jobs", (await Client.GetKeyAsync($"upload:{tag}", cts.Token)).Source);
        Assert.Equal(1, (await Client.GetKeyAsync($"serial:{FlowClusterFixture.SerialQueue}", cts.Token)).Limit);
    }

    [Fact]
    public async Task LimitsSet_AtRuntime_WinsOverConfiguration_AndIsListed()
    {
        using var cts = new CancellationTokenSource(Patience);
        var key = $"runtime:{Guid.NewGuid():N}";
        Assert.Equal(2, (await Client.GetKeyAsync(FlowClusterFixture.ConfiguredKey, cts.Token)).Limit);

        var set = await Client.SetKeyLimitsAsync(key, new KeySettings { Limit = 3, Rate = new RateLimit(10, TimeSpan.FromSeconds(5)) }, cts.Token);
        var listed = await Client.ListKeysAsync(cts.Token);

        Assert.Equal(3, set.Limit);
        Assert.Equal("runtime", set.Source);
        Assert.Contains(listed, k => k.Key == key && k.Limit == 3 && k.Settings!.Rate == new RateLimit(10, TimeSpan.FromSeconds(5)));
        Assert.Contains(listed, k => k.Key == FlowClusterFixture.ConfiguredKey && k.Source == "configuration");
    }

    [Theory]
    [InlineData("bad key!", 1, "is not valid")]
    [InlineData("ok:key", 0, "out of range")]
    [InlineData("ok:key", 100_001, "out of range")]
    public async Task BadKeys_AreRefused_AndNothingIsStored(string key, int limit, string message)
    {
        using var cts = new CancellationTokenSource(Patience);
        var request = FlowClusterFixture.Keyed("never", 0, new ConcurrencyKey(key, limit)) with { Id = JobId.New() };

        var error = await Assert.ThrowsAsync<SchedulerException>(() => Client.SubmitAsync(request, cts.Token));

        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains(message, error.Message);
        Assert.Null(await Client.GetStatusAsync(request.Id!.Value, cts.Token));
    }

    [Fact]
    public async Task TooManyKeys_AndBadSettings_AreRefused()
    {
        using var cts = new CancellationTokenSource(Patience);
        var seventeen = FlowClusterFixture.Keyed("never", 0, [.. Enumerable.Range(0, 17).Select(i => new ConcurrencyKey($"k:{i}"))]);
        var key = $"bad:{Guid.NewGuid():N}";

        var tooMany = await Assert.ThrowsAsync<SchedulerException>(() => Client.SubmitAsync(seventeen, cts.Token));
        var shortWindow = await Assert.ThrowsAsync<SchedulerException>(() =>
            Client.SetKeyLimitsAsync(key, new KeySettings { Rate = new RateLimit(5, TimeSpan.FromMilliseconds(500)) }, cts.Token));
        var zero = await Assert.ThrowsAsync<SchedulerException>(() => Client.SetKeyLimitsAsync(key, new KeySettings { Limit = 0 }, cts.Token));

        Assert.Contains("at most 16", tooMany.Message);
        Assert.Contains("rate window", shortWindow.Message);
        Assert.Contains("out of range", zero.Message);
        Assert.DoesNotContain(await Client.ListKeysAsync(cts.Token), k => k.Key == key);
    }
}
