using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Rest;
using Scheduler.Tests.Infrastructure;
using V1 = Scheduler.Grpc.V1;

namespace Scheduler.Tests.Rest;

/// <summary>
/// The gRPC API (scheduler.v1.Jobs) with a real Grpc.Net.Client over HTTP/2 without TLS, on the HTTP/2 port
/// (Scheduler:Api:GrpcPort) of a real silo whose loopback trust is off (every call needs credentials, as from beyond
/// loopback).
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class GrpcApiTests(RestApiFixture fixture) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.GrpcUrl);

    private V1.Jobs.JobsClient Jobs => new(_channel);

    public void Dispose() => _channel.Dispose();

    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    private Metadata As(ApiRole role, string? tenant = null)
    {
        using var http = fixture.As(role, tenant);
        return new Metadata { { "authorization", "Bearer " + http.DefaultRequestHeaders.Authorization!.Parameter } };
    }

    private static V1.JobRequest Work(string? tag = null, int sleepMs = 0, string? tenant = null) => new()
    {
        Handler = WorkHandler.Name,
        Payload = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new WorkPayload(SleepMs: sleepMs, Tag: tag))),
        Tenant = tenant ?? "",
        MaxAttempts = 1,
    };

    [Fact]
    public async Task Submit_ThenWait_ThenStatus_RunsTheJob()
    {
        var ct = Bounded();
        var submitter = As(ApiRole.Submitter);
        var submitted = await Jobs.SubmitAsync(new V1.SubmitRequest { Job = Work("grpc") }, submitter, cancellationToken: ct);
        Assert.Equal(V1.SubmitOutcome.Accepted, submitted.Outcome);

        var done = await Jobs.WaitAsync(new V1.WaitRequest { Id = submitted.Id, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)) }, submitter, cancellationToken: ct);
        Assert.Equal(V1.JobState.Succeeded, done.State);
        Assert.Equal(submitted.Id, done.Id);

        var status = await Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = submitted.Id }, As(ApiRole.Viewer), cancellationToken: ct);
        Assert.Equal(V1.JobState.Succeeded, status.State);
        Assert.Equal(WorkHandler.Name, status.Handler);
        Assert.Equal("default", status.Tenant);
        Assert.NotNull(status.FinishedAt);
        Assert.Single(fixture.Book.Of(new JobId(Guid.Parse(submitted.Id))));

        // The same id again is that job, not a new one.
        var again = Work("grpc");
        again.Id = submitted.Id;
        Assert.Equal(V1.SubmitOutcome.Existing, (await Jobs.SubmitAsync(new V1.SubmitRequest { Job = again }, submitter, cancellationToken: ct)).Outcome);
    }

    [Fact]
    public async Task SubmitBatch_StoresAllJobs_OrNoneWhenOneIsInvalid()
    {
        var ct = Bounded();
        var submitter = As(ApiRole.Submitter);
        var batch = new V1.SubmitBatchRequest { Jobs = { Work("batch-1"), Work("batch-2"), Work("batch-3") } };
        var results = (await Jobs.SubmitBatchAsync(batch, submitter, cancellationToken: ct)).Results;
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(V1.SubmitOutcome.Accepted, r.Outcome));

        var good = Work("batch-refused");
        good.Id = Guid.NewGuid().ToString();
        var bad = Work();
        bad.Priority = 500;
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            Jobs.SubmitBatchAsync(new V1.SubmitBatchRequest { Jobs = { good, bad } }, submitter, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("#1", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("priority", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await fixture.Sdk.GetStatusAsync(new JobId(Guid.Parse(good.Id)), ct));
    }

    [Fact]
    public async Task StreamLogs_TailsARunningJob_AndCancelEndsIt()
    {
        var ct = Bounded();
        var submitted = await Jobs.SubmitAsync(new V1.SubmitRequest { Job = Work("grpc-tail", sleepMs: 600_000) }, As(ApiRole.Submitter), cancellationToken: ct);

        using var stream = Jobs.StreamLogs(new V1.StreamLogsRequest { Id = submitted.Id }, As(ApiRole.Viewer), cancellationToken: ct);
        Assert.True(await stream.ResponseStream.MoveNext(ct));
        var first = stream.ResponseStream.Current;
        Assert.Equal(V1.LogEvent.EventOneofCase.Line, first.EventCase);
        Assert.Contains("work grpc-tail attempt 1", first.Line.Text, StringComparison.Ordinal);
        // The handler sleeps ten minutes: the line came from a job that still runs.
        var running = await Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = submitted.Id }, As(ApiRole.Viewer), cancellationToken: ct);
        Assert.Equal(V1.JobState.Running, running.State);

        var cancel = await Jobs.CancelAsync(new V1.CancelRequest { Id = submitted.Id, Reason = "grpc test" }, As(ApiRole.Operator), cancellationToken: ct);
        Assert.Equal(V1.CancelOutcome.Requested, cancel.Outcome);

        V1.LogEvent? last = null;
        while (await stream.ResponseStream.MoveNext(ct))
            last = stream.ResponseStream.Current;
        Assert.NotNull(last);
        Assert.Equal(V1.LogEvent.EventOneofCase.End, last.EventCase);
        Assert.Equal(V1.JobState.Cancelled, last.End.State);
    }

    [Fact]
    public async Task Cancel_CancelsAQueuedJob_ThenRefusesTheEndedOne()
    {
        var ct = Bounded();
        var later = Work("grpc-cancel");
        later.NotBefore = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
        var submitted = await Jobs.SubmitAsync(new V1.SubmitRequest { Job = later }, As(ApiRole.Submitter), cancellationToken: ct);
        var operatorKey = As(ApiRole.Operator);

        var cancelled = await Jobs.CancelAsync(new V1.CancelRequest { Id = submitted.Id }, operatorKey, cancellationToken: ct);
        Assert.Equal(V1.CancelOutcome.Cancelled, cancelled.Outcome);
        Assert.Equal(JobState.Cancelled, (await fixture.Sdk.GetStatusAsync(new JobId(Guid.Parse(submitted.Id)), ct))!.State);

        var again = await Assert.ThrowsAsync<RpcException>(() => Jobs.CancelAsync(new V1.CancelRequest { Id = submitted.Id }, operatorKey, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Contains("already ended", again.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_AnswersWithTheCurrentStatus_WhenTheDeadlineComesFirst()
    {
        var ct = Bounded();
        var later = Work("grpc-deadline");
        later.NotBefore = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
        var submitted = await Jobs.SubmitAsync(new V1.SubmitRequest { Job = later }, As(ApiRole.Submitter), cancellationToken: ct);

        var status = await Jobs.WaitAsync(new V1.WaitRequest { Id = submitted.Id, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(300)) },
            As(ApiRole.Viewer), deadline: DateTime.UtcNow.AddSeconds(8), cancellationToken: ct);
        Assert.Equal(V1.JobState.Queued, status.State);
    }

    [Fact]
    public async Task Calls_WithoutOrWithBadCredentials_OrTooSmallARole_AreRefused()
    {
        var ct = Bounded();
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => Jobs.SubmitAsync(new V1.SubmitRequest { Job = Work() }, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.Contains("API key", anonymous.Status.Detail, StringComparison.Ordinal);

        var forged = new Metadata { { "x-api-key", "sch_000000000000_wrong-secret-of-some-length" } };
        var refused = await Assert.ThrowsAsync<RpcException>(() => Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = Guid.NewGuid().ToString() }, forged, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("refused", refused.Status.Detail, StringComparison.Ordinal);

        var viewer = As(ApiRole.Viewer);
        var submit = await Assert.ThrowsAsync<RpcException>(() => Jobs.SubmitAsync(new V1.SubmitRequest { Job = Work() }, viewer, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, submit.StatusCode);
        Assert.Contains("submitter", submit.Status.Detail, StringComparison.Ordinal);
        var cancel = await Assert.ThrowsAsync<RpcException>(() => Jobs.CancelAsync(new V1.CancelRequest { Id = Guid.NewGuid().ToString() }, As(ApiRole.Submitter), cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, cancel.StatusCode);

        using var logs = Jobs.StreamLogs(new V1.StreamLogsRequest { Id = Guid.NewGuid().ToString() }, cancellationToken: ct);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => logs.ResponseStream.MoveNext(ct))).StatusCode);
    }

    [Fact]
    public async Task TenantScopedKeys_SeeOnlyTheirTenantsJobs()
    {
        var ct = Bounded();
        var later = Work("grpc-tenant");
        later.NotBefore = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
        var owned = await Jobs.SubmitAsync(new V1.SubmitRequest { Job = later }, As(ApiRole.Operator, "grpc-owner"), cancellationToken: ct);
        Assert.Equal("grpc-owner", (await fixture.Sdk.GetStatusAsync(new JobId(Guid.Parse(owned.Id)), ct))!.Tenant);
        Assert.Equal("grpc-owner", (await Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = owned.Id }, As(ApiRole.Viewer, "grpc-owner"), cancellationToken: ct)).Tenant);

        var stranger = As(ApiRole.Operator, "grpc-stranger");
        var calls = new Func<Task>[]
        {
            () => Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = owned.Id }, stranger, cancellationToken: ct).ResponseAsync,
            () => Jobs.WaitAsync(new V1.WaitRequest { Id = owned.Id, Timeout = new Duration() }, stranger, cancellationToken: ct).ResponseAsync,
            () => Jobs.CancelAsync(new V1.CancelRequest { Id = owned.Id }, stranger, cancellationToken: ct).ResponseAsync,
            async () =>
            {
                using var logs = Jobs.StreamLogs(new V1.StreamLogsRequest { Id = owned.Id }, stranger, cancellationToken: ct);
                await logs.ResponseStream.MoveNext(ct);
            },
        };
        foreach (var call in calls)
        {
            var notFound = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
            Assert.Equal($"no job {owned.Id}", notFound.Status.Detail);
        }
        Assert.Equal(JobState.Queued, (await fixture.Sdk.GetStatusAsync(new JobId(Guid.Parse(owned.Id)), ct))!.State);

        var elsewhere = await Assert.ThrowsAsync<RpcException>(() =>
            Jobs.SubmitAsync(new V1.SubmitRequest { Job = Work(tenant: "grpc-owner") }, stranger, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, elsewhere.StatusCode);
        Assert.Contains("grpc-stranger", elsewhere.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidInput_IsInvalidArgument_NamingTheField()
    {
        var ct = Bounded();
        var admin = As(ApiRole.Admin);
        async Task<string> RefusedAsync(Func<Task> call)
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            return e.Status.Detail;
        }

        Assert.StartsWith("id 'not-a-job'", await RefusedAsync(() => Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = "not-a-job" }, admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("id ''", await RefusedAsync(() => Jobs.CancelAsync(new V1.CancelRequest(), admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("timeout", await RefusedAsync(() => Jobs.WaitAsync(new V1.WaitRequest { Id = Guid.NewGuid().ToString(), Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(301)) }, admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("job is missing", await RefusedAsync(() => Jobs.SubmitAsync(new V1.SubmitRequest(), admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("handler", await RefusedAsync(() => Jobs.SubmitAsync(new V1.SubmitRequest { Job = new V1.JobRequest { Handler = "no such handler!" } }, admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        var priority = Work();
        priority.Priority = 101;
        Assert.StartsWith("priority 101", await RefusedAsync(() => Jobs.SubmitAsync(new V1.SubmitRequest { Job = priority }, admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        var badId = Work();
        badId.Id = "42";
        Assert.StartsWith("job.id '42'", await RefusedAsync(() => Jobs.SubmitAsync(new V1.SubmitRequest { Job = badId }, admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("jobs is empty", await RefusedAsync(() => Jobs.SubmitBatchAsync(new V1.SubmitBatchRequest(), admin, cancellationToken: ct).ResponseAsync), StringComparison.Ordinal);
        Assert.StartsWith("after_sequence", await RefusedAsync(async () =>
        {
            using var logs = Jobs.StreamLogs(new V1.StreamLogsRequest { Id = Guid.NewGuid().ToString(), AfterSequence = -1 }, admin, cancellationToken: ct);
            await logs.ResponseStream.MoveNext(ct);
        }), StringComparison.Ordinal);
        var notFound = await Assert.ThrowsAsync<RpcException>(() => Jobs.GetStatusAsync(new V1.GetStatusRequest { Id = Guid.NewGuid().ToString() }, admin, cancellationToken: ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
    }

    /// <summary>The API process as Api/Program.cs builds it (an Orleans client of the fixture's silo), started with these settings.</summary>
    private async Task<WebApplication> StartApiProcessAsync(Dictionary<string, string?> settings, CancellationToken ct)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        settings["Scheduler:Client:Gateways:0"] = $"127.0.0.1:{fixture.GatewayPort}";
        settings["Scheduler:Client:ClusterId"] = fixture.ClusterId;
        settings["Scheduler:Client:ServiceId"] = fixture.ClusterId;
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Services.AddSchedulerClient(builder.Configuration);
        builder.Services.AddSchedulerRestApi(builder.Configuration);
        var app = builder.Build();
        app.UseSchedulerRestApi();
        app.MapSchedulerRestApi();
        await app.StartAsync(ct);
        return app;
    }

    /// <summary>
    /// The API process serves gRPC too, with the loopback rule: a local caller without a key is let in; a call
    /// forwarded by a proxy is not local.
    /// </summary>
    [Fact]
    public async Task ApiProcess_ServesGrpc_AndTrustsOnlyPlainLoopback()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ports = ServerProcess.FreeLoopbackPorts(2);
        var url = $"http://127.0.0.1:{ports[0]}";
        var grpcUrl = $"http://127.0.0.1:{ports[1]}";
        await using var app = await StartApiProcessAsync(new()
        {
            ["Urls"] = $"{url};{grpcUrl}",
            ["Scheduler:Api:GrpcPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        }, cts.Token);
        try
        {
            using var channel = GrpcChannel.ForAddress(grpcUrl);
            var jobs = new V1.Jobs.JobsClient(channel);
            var submitted = await jobs.SubmitAsync(new V1.SubmitRequest { Job = Work("grpc-api-process") }, cancellationToken: cts.Token);
            var done = await jobs.WaitAsync(new V1.WaitRequest { Id = submitted.Id, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)) }, cancellationToken: cts.Token);
            Assert.Equal(V1.JobState.Succeeded, done.State);

            var forwarded = new Metadata { { "x-forwarded-for", "203.0.113.7" } };
            var refused = await Assert.ThrowsAsync<RpcException>(() => jobs.GetStatusAsync(new V1.GetStatusRequest { Id = submitted.Id }, forwarded, cancellationToken: cts.Token).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

            // The other port serves REST over HTTP/1.1.
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/jobs/{submitted.Id}", cts.Token)).StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Over TLS, HTTP/2 is negotiated (ALPN): gRPC and REST share one port, with no GrpcPort.</summary>
    [Fact]
    public async Task OverTls_GrpcAndRestShareOnePort()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var dir = new Storage.TempDirectory();
        var pfx = Path.Combine(dir.Path, "server.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test"), cts.Token);
        }
        var url = $"https://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";
        await using var app = await StartApiProcessAsync(new()
        {
            ["Urls"] = url,
            ["Kestrel:Certificates:Default:Path"] = pfx,
            ["Kestrel:Certificates:Default:Password"] = "test",
        }, cts.Token);
        try
        {
            // Trusts the test's own self-signed certificate.
            static SocketsHttpHandler Trusting() => new() { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
            using var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = Trusting() });
            var jobs = new V1.Jobs.JobsClient(channel);
            var submitted = await jobs.SubmitAsync(new V1.SubmitRequest { Job = Work("grpc-tls") }, cancellationToken: cts.Token);
            var done = await jobs.WaitAsync(new V1.WaitRequest { Id = submitted.Id, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)) }, cancellationToken: cts.Token);
            Assert.Equal(V1.JobState.Succeeded, done.State);

            using var http = new HttpClient(Trusting()) { BaseAddress = new Uri(url), DefaultRequestVersion = HttpVersion.Version11 };
            using var rest = await http.GetAsync($"/api/v1/jobs/{submitted.Id}", cts.Token);
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
            Assert.Equal(HttpVersion.Version11, rest.Version);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
