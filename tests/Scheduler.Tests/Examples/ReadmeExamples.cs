using Scheduler.Client;
using Scheduler.Execution;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Examples;

// The code shown in README.md, compiled and run here so the README cannot drift from the API.

// README: handler
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
// README: end handler

[Collection(MemoryClusterCollection.Name)]
public sealed class ReadmeExamples(MemoryClusterFixture fixture)
{
    [Fact]
    public async Task SdkExample_SubmitsAndWaits()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var scheduler = fixture.Client;
        var cancellationToken = cts.Token;

        // README: sdk
        var job = await scheduler.SubmitCommandAsync(
            new CommandJob { Executable = "/bin/echo", Arguments = ["hello", "world"] },
            request => request with { Priority = 80, Tenant = "alice", Limits = new JobLimits { MaxAttempts = 3, Timeout = TimeSpan.FromMinutes(5) } },
            cancellationToken);

        var status = await scheduler.WaitForFinalAsync(job.Id, TimeSpan.FromMinutes(1), cancellationToken);
        var log = await scheduler.GetLogAsync(job.Id, cancellationToken: cancellationToken);
        // README: end sdk

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
}
