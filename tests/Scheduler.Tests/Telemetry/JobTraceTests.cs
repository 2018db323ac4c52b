using System.Collections.Concurrent;
using System.Diagnostics;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Telemetry;

/// <summary>
/// A job's spans, seen by an <see cref="ActivityListener"/> as an exporter would: the submit span joins the caller's
/// trace (the SDK carries it), and the attempt's span is the submit span's child, from the context stored with the job.
/// </summary>
[Collection(MemoryClusterCollection.Name)]
public sealed class JobTraceTests(MemoryClusterFixture fixture) : IDisposable
{
    private readonly ConcurrentQueue<Activity> _ended = new();
    private readonly ActivityListener _listener = new();

    private void Listen()
    {
        _listener.ShouldListenTo = source => source.Name == "Scheduler";
        _listener.Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded;
        _listener.ActivityStopped = _ended.Enqueue;
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task SubmitAndAttemptSpans_ShareTheCallersTrace()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Listen();
        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        var job = await fixture.Client.SubmitAsync(Payloads.WorkJob(), cts.Token);
        caller.Stop();
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);

        var (submit, attempt) = await SpansOfAsync(job.Id, cts.Token);
        Assert.Equal(caller.TraceId, submit.TraceId);
        Assert.Equal(caller.SpanId, submit.ParentSpanId);
        Assert.Equal(caller.TraceId, attempt.TraceId);
        Assert.Equal(submit.SpanId, attempt.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, attempt.Kind);
        Assert.Equal("Success", attempt.GetTagItem("scheduler.job.outcome"));
        Assert.Equal(1, attempt.GetTagItem("scheduler.job.attempt"));
    }

    [Fact]
    public async Task EveryAttempt_IsAChildOfTheSubmit_WhenTheJobIsRetried()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Listen();
        var job = await fixture.Client.SubmitAsync(Payloads.WorkJob(failTimes: 1) with { Retry = new RetryPolicy { InitialDelay = TimeSpan.Zero } }, cts.Token);
        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(job.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);

        var id = job.Id.ToString();
        Activity[] attempts;
        while ((attempts = [.. _ended.Where(a => a.OperationName == "scheduler.job.attempt" && Equals(a.GetTagItem("scheduler.job.id"), id))]).Length < 2)
            await Task.Delay(50, cts.Token);
        var (submit, _) = await SpansOfAsync(job.Id, cts.Token);
        // No caller: the submit span starts the job's trace.
        Assert.Equal(default, submit.ParentSpanId);
        Assert.All(attempts, a => Assert.Equal(submit.SpanId, a.ParentSpanId));
        Assert.Equal(["Retriable", "Success"], attempts.OrderBy(a => (int)a.GetTagItem("scheduler.job.attempt")!).Select(a => (string?)a.GetTagItem("scheduler.job.outcome")));
        Assert.Equal(ActivityStatusCode.Error, attempts.Single(a => (int)a.GetTagItem("scheduler.job.attempt")! == 1).Status);
    }

    /// <summary>The job's submit span and its first attempt's span, once both have ended (bounded by the token).</summary>
    private async Task<(Activity Submit, Activity Attempt)> SpansOfAsync(JobId job, CancellationToken cancellationToken)
    {
        var id = job.ToString();
        while (true)
        {
            var mine = _ended.Where(a => Equals(a.GetTagItem("scheduler.job.id"), id)).ToList();
            var submit = mine.FirstOrDefault(a => a.OperationName == "scheduler.job.submit");
            var attempt = mine.FirstOrDefault(a => a.OperationName == "scheduler.job.attempt" && Equals(a.GetTagItem("scheduler.job.attempt"), 1));
            if (submit is not null && attempt is not null)
                return (submit, attempt);
            await Task.Delay(50, cancellationToken);
        }
    }
}
