using System.Collections.Immutable;
using Scheduler.Client;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core;

[Collection(MemoryClusterCollection.Name)]
public sealed class BadInputTests(MemoryClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task UnknownHandler_IsRefused_WithTheKnownHandlersNamed()
    {
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            fixture.Client.SubmitAsync(new JobRequest { Handler = "no.such.handler" }, cts.Token));

        Assert.Equal(SchedulerErrorCode.UnknownHandler, error.Code);
        Assert.Contains("no.such.handler", error.Message);
        Assert.Contains(WorkHandler.Name, error.Message);
    }

    [Fact]
    public async Task UnknownQueue_IsRefused()
    {
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            fixture.Client.SubmitAsync(Payloads.WorkJob() with { Queue = "nope" }, cts.Token));

        Assert.Equal(SchedulerErrorCode.UnknownQueue, error.Code);
        Assert.Contains("'nope'", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public async Task PriorityOutOfRange_IsRefused_BeforeAnythingIsSent(int priority)
    {
        using var cts = new CancellationTokenSource(Patience);
        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            fixture.Client.SubmitAsync(Payloads.WorkJob(priority: priority), cts.Token));

        Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
        Assert.Contains($"priority {priority}", error.Message);
        Assert.Contains("0 (lowest) to 100 (highest)", error.Message);
    }

    [Fact]
    public async Task OversizedPayload_IsRefusedByTheSilo_WithItsLimit()
    {
        using var cts = new CancellationTokenSource(Patience);
        // The SDK allows 1 MiB here; the silo's limit is 64 KiB, so this is the silo speaking.
        var request = new JobRequest { Handler = WorkHandler.Name, Payload = ImmutableArray.Create(new byte[100 * 1024]) };

        var error = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Client.SubmitAsync(request, cts.Token));

        Assert.Equal(SchedulerErrorCode.PayloadTooLarge, error.Code);
        Assert.Contains("102400 bytes", error.Message);
        Assert.Contains("65536", error.Message);
    }

    [Fact]
    public async Task BatchWithOneBadRequest_SubmitsNothing()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = $"batch{Guid.NewGuid():N}"[..24];
        var good = Payloads.WorkJob() with { Tenant = tenant };
        var requests = new[] { good, good, new JobRequest { Handler = "no.such.handler", Tenant = tenant }, good };

        var error = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Client.SubmitManyAsync(requests, cts.Token));

        Assert.Contains("1 of 4 requests are invalid, nothing was submitted", error.Message);
        Assert.Contains("#2:", error.Message);
        Assert.Empty(await fixture.Client.ListAsync(new JobFilter { Tenant = tenant }, cts.Token));
    }

    [Fact]
    public async Task LargeBatchWithOneBadRequest_SubmitsNothing_EvenAcrossChunks()
    {
        using var cts = new CancellationTokenSource(Patience);
        var tenant = $"chunk{Guid.NewGuid():N}"[..24];
        // The fixture's SDK sends 100 requests per call: the bad one sits in the third chunk.
        var requests = Enumerable.Range(0, 250).Select(i => i == 230
            ? Payloads.WorkJob() with { Tenant = tenant, Queue = "nope" }
            : Payloads.WorkJob() with { Tenant = tenant }).ToList();

        var error = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Client.SubmitManyAsync(requests, cts.Token));

        Assert.Equal(SchedulerErrorCode.UnknownQueue, error.Code);
        Assert.Contains("#230:", error.Message);
        Assert.Empty(await fixture.Client.ListAsync(new JobFilter { Tenant = tenant }, cts.Token));
    }

    [Fact]
    public async Task InvalidNames_AndLimits_AreRefused()
    {
        using var cts = new CancellationTokenSource(Patience);
        var cases = new (JobRequest Request, string Expected)[]
        {
            (Payloads.WorkJob() with { Tenant = "has space" }, "tenant 'has space'"),
            (Payloads.WorkJob() with { Limits = new JobLimits { MaxAttempts = 0 } }, "max attempts 0"),
            (Payloads.WorkJob() with { Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(-1) } }, "must be positive"),
            (new JobRequest { Handler = "" }, "handler ''"),
        };
        foreach (var (request, expected) in cases)
        {
            var error = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Client.SubmitAsync(request, cts.Token));
            Assert.Equal(SchedulerErrorCode.InvalidRequest, error.Code);
            Assert.Contains(expected, error.Message);
        }
    }

    [Fact]
    public async Task UnreachableSilo_GivesAnUnavailableError_NamingTheAddress()
    {
        var port = FreeLoopbackPort();
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<SchedulerException>(() =>
            MemoryClusterFixture.StartClientAsync(port, "nobody-home", TimeSpan.FromSeconds(2)).WaitAsync(Patience));

        Assert.Equal(SchedulerErrorCode.Unavailable, error.Code);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
