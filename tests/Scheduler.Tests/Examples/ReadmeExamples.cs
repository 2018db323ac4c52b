using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Examples;

// The code shown in README.md and docs/ (between "docs:" markers), compiled and run here so the pages cannot
// drift from the API; DocsSnippetTests checks that the pages show it as it is here.

// docs: handler
public sealed record ResizeImage(string Path, int Width);

public sealed class ResizeImageHandler : IJobHandler
{
    public async Task<JobResult> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.ReadPayload<ResizeImage>();
        if (!request.Path.EndsWith(".png", StringComparison.Ordinal))
            return JobResult.Fatal($"{request.Path} is not a PNG");
        context.Log.Write(LogStream.System, $"resizing {request.Path} to {request.Width}px");
        await Task.Delay(10, cancellationToken); // the real work goes here
        return JobResult.Success();
    }
}
// docs: end handler

[Collection(MemoryClusterCollection.Name)]
public sealed class ReadmeExamples(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task SdkExample_SubmitsAndWaits()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: sdk
        var job = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["hello", "world"] },
            request => request with { Priority = 80, Tenant = "alice", Limits = new JobLimits { MaxAttempts = 3, Timeout = TimeSpan.FromMinutes(5) } },
            cancellationToken);

        var status = await scheduler.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(1), cancellationToken);
        var log = await scheduler.GetLogAsync(job.Id, cancellationToken: cancellationToken);
        // docs: end sdk

        Assert.Equal(JobState.Succeeded, status!.State);
        Assert.Contains(log, l => l.Stream == LogStream.StdOut && l.Text == "hello world");
    }

    [Fact]
    public async Task HandlerExample_RunsThroughTheCluster()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ok = await fixture.Client.SubmitAsync("example.resize", new ResizeImage("cat.png", 200), cancellationToken: cts.Token);
        var bad = await fixture.Client.SubmitAsync("example.resize", new ResizeImage("cat.gif", 200), cancellationToken: cts.Token);

        Assert.Equal(JobState.Succeeded, (await fixture.Client.WaitForFinalAsync(ok.Id, TimeSpan.FromMinutes(1), cts.Token))!.State);
        var failed = await fixture.Client.WaitForFinalAsync(bad.Id, TimeSpan.FromMinutes(1), cts.Token);
        Assert.Equal(JobState.Failed, failed!.State);
        Assert.Equal(1, failed.Attempt);
        Assert.Contains("cat.gif is not a PNG", failed.LastError);
    }

    [Fact]
    public void HandlerRetryExample_RegistersTheSettings()
    {
        var services = new ServiceCollection();

        // docs: handler retry
        services.AddJobHandler<ResizeImageHandler>("images.resize", handler =>
        {
            handler.MaxAttempts = 5;
            handler.Retry = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromMinutes(10) };
            handler.ExceptionsAreFatal = true; // default false: an exception is retriable
        });
        // docs: end handler retry

        services.AddSingleton<JobHandlerRegistry>();
        using var provider = services.BuildServiceProvider();
        var resolved = provider.GetRequiredService<JobHandlerRegistry>().Resolve(new JobRequest { Handler = "images.resize" });
        Assert.Equal(5, resolved.Limits.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(10), resolved.Retry!.InitialDelay);
        Assert.Equal(TimeSpan.FromMinutes(10), resolved.Retry.MaxDelay);
    }

    [Fact]
    public async Task RetryAndDeadLetterExample_Runs()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // docs: job retry
        var job = await scheduler.SubmitAsync("example.resize", new ResizeImage("cat.gif", 200),
            request => request with
            {
                Tenant = "alice",
                Limits = new JobLimits { MaxAttempts = 10 },
                Retry = new RetryPolicy { InitialDelay = TimeSpan.FromSeconds(30), Jitter = RetryJitter.Full },
            },
            cancellationToken);
        // docs: end job retry
        Assert.Equal(JobState.Failed, (await scheduler.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(1), cancellationToken))!.State);

        // docs: dlq
        var dead = await scheduler.ListDeadLettersAsync(new DeadLetterFilter { Tenant = "alice", Limit = 50 }, cancellationToken);
        foreach (var letter in dead)
            Console.WriteLine($"{letter.Id} {letter.Reason} after {letter.Attempt} attempts: {letter.LastError}");

        var report = await scheduler.InspectDeadLetterAsync(dead[0].Id, cancellationToken); // status and every transition
        var requeued = await scheduler.RequeueAsync([.. dead.Select(d => d.Id)], attempts: 3, cancellationToken);
        var purged = await scheduler.PurgeDeadLettersAsync(
            new DeadLetterFilter { FailedBefore = DateTimeOffset.UtcNow.AddDays(-30) }, cancellationToken);
        // docs: end dlq

        var letterOfJob = Assert.Single(dead);
        Assert.Equal(job.Id, letterOfJob.Id);
        Assert.Equal(DeadLetterReason.Fatal, letterOfJob.Reason);
        Assert.Equal(DeadLetterReason.Fatal, report!.Status.DeadLetterReason);
        Assert.Equal([new RequeueResult(job.Id, RequeueOutcome.Requeued)], requeued);
        Assert.Equal(0, purged);
        // Requeued, the GIF fails again (fatal), now in attempt 2 of 4; then it leaves the cluster's dead letters.
        var again = await scheduler.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(1), cancellationToken);
        Assert.Equal(JobState.Failed, again!.State);
        Assert.Equal(2, again.Attempt);
        Assert.Equal(4, again.MaxAttempts);
        Assert.Equal([new PurgeResult(job.Id, PurgeOutcome.Purged)], await scheduler.PurgeDeadLettersAsync([job.Id], cancellationToken));
    }
}
