using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Scheduler.Client;
using Scheduler.Cli;
using Scheduler.Tests.Examples;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Rest;

/// <summary>
/// Webhooks against the real silo host of the REST tests (embedded SQLite) and a real Kestrel receiver on 127.0.0.1:
/// signature, retries, give-up, workflows, validation, and the delivery record through the SDK, CLI and REST.
/// The fixture allows 3 attempts, waits 100 ms (doubling) between them and gives each 1 s.
/// </summary>
[Collection(RestApiCollection.Name)]
public sealed class WebhookTests(RestApiFixture fixture) : IAsyncLifetime
{
    private readonly WebhookReceiver _receiver = new();

    public Task InitializeAsync() => _receiver.StartAsync();

    public Task DisposeAsync() => _receiver.DisposeAsync().AsTask();

    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    private async Task<(JobId Id, WebhookDelivery Delivery)> RunJobAsync(string url, string outcome = "success", string tenant = JobRequest.DefaultTenant, CancellationToken ct = default)
    {
        var request = new JobRequest
        {
            Handler = WorkHandler.Name,
            Payload = [.. JsonSerializer.SerializeToUtf8Bytes(new WorkPayload(Outcome: outcome))],
            Tenant = tenant,
            Limits = new JobLimits { MaxAttempts = 1 },
            Webhook = new WebhookRequest { Url = url },
        };
        var id = (await fixture.Sdk.SubmitManyAsync([request], ct))[0].Id;
        await fixture.Sdk.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), ct);
        return (id, await FinishedDeliveryAsync(id.Value, ct));
    }

    /// <summary>The subject's one delivery, once it is no longer pending.</summary>
    private async Task<WebhookDelivery> FinishedDeliveryAsync(Guid subject, CancellationToken ct)
    {
        while (true)
        {
            var rows = await fixture.Sdk.ListWebhookDeliveriesAsync(new WebhookDeliveryFilter { SubjectId = subject }, ct);
            if (rows.Count == 1 && rows[0].State != WebhookDeliveryState.Pending)
                return rows[0];
            Assert.True(rows.Count <= 1, $"{rows.Count} deliveries for {subject}");
            await Task.Delay(50, ct);
        }
    }

    [Fact]
    public async Task JobEnd_IsDeliveredOnce_SignedWithTheSecret()
    {
        var ct = Bounded();
        var (id, delivery) = await RunJobAsync(_receiver.Url("ok"), ct: ct);

        Assert.Equal(WebhookDeliveryState.Delivered, delivery.State);
        Assert.Equal((1, 204, null), (delivery.Attempts, delivery.LastStatusCode, delivery.LastError));
        Assert.Equal("job.succeeded", delivery.Event);
        var call = Assert.Single(_receiver.Calls, c => c.Delivery == delivery.Id);
        Assert.True(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, call.Signature, call.Body, DateTimeOffset.UtcNow));
        Assert.False(WebhookReceiverExample.IsGenuine("some-other-secret-of-length", call.Signature, call.Body, DateTimeOffset.UtcNow));
        Assert.False(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, call.Signature, [.. call.Body, (byte)' '], DateTimeOffset.UtcNow));
        Assert.False(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, call.Signature, call.Body, DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(("job.succeeded", "1"), (call.Event, call.Attempt));
        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal(delivery.Id, body.RootElement.GetProperty("id").GetString());
        Assert.Equal(id.Value, body.RootElement.GetProperty("job").GetProperty("id").GetGuid());
        Assert.Equal("succeeded", body.RootElement.GetProperty("job").GetProperty("state").GetString());
    }

    [Fact]
    public async Task FailedJob_OfATenantWithItsOwnSecret_IsSignedWithThatSecret()
    {
        var ct = Bounded();
        var (_, delivery) = await RunJobAsync(_receiver.Url("ok"), outcome: "fatal", tenant: RestApiFixture.WebhookTenant, ct: ct);

        Assert.Equal(("job.failed", WebhookDeliveryState.Delivered), (delivery.Event, delivery.State));
        var call = Assert.Single(_receiver.Calls, c => c.Delivery == delivery.Id);
        Assert.True(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookTenantSecret, call.Signature, call.Body, DateTimeOffset.UtcNow));
        Assert.False(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, call.Signature, call.Body, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task ReceiverFailingTwice_GetsThreeAttempts_AndTheRecordSaysSo()
    {
        var ct = Bounded();
        var (_, delivery) = await RunJobAsync(_receiver.Url("flaky"), ct: ct);

        Assert.Equal(WebhookDeliveryState.Delivered, delivery.State);
        Assert.Equal((3, 200, null), (delivery.Attempts, delivery.LastStatusCode, delivery.LastError));
        var calls = _receiver.Calls.Where(c => c.Delivery == delivery.Id).ToList();
        Assert.Equal(["1", "2", "3"], calls.Select(c => c.Attempt).Order());
        Assert.All(calls, c => Assert.True(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, c.Signature, c.Body, DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task ReceiverThatNeverAnswers_EndsFailed_WithItsErrorVisible()
    {
        var ct = Bounded();
        var (_, delivery) = await RunJobAsync(_receiver.Url("silent"), ct: ct);

        Assert.Equal(WebhookDeliveryState.Failed, delivery.State);
        Assert.Equal(3, delivery.Attempts);
        Assert.Null(delivery.LastStatusCode);
        Assert.Contains("no answer within 1 s", delivery.LastError, StringComparison.Ordinal);
        Assert.NotNull(delivery.FinishedAt);
    }

    [Fact]
    public async Task ReceiverAnswering500_EndsFailed_WithTheStatus()
    {
        var ct = Bounded();
        var (_, delivery) = await RunJobAsync(_receiver.Url("broken"), ct: ct);

        Assert.Equal((WebhookDeliveryState.Failed, 3, 500), (delivery.State, delivery.Attempts, delivery.LastStatusCode));
        Assert.Contains("HTTP 500", delivery.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkflowEnd_IsDelivered_WithTheWorkflow()
    {
        var ct = Bounded();
        var submitted = await fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Name = "hooked",
            Webhook = new WebhookRequest { Url = _receiver.Url("ok") },
            Jobs = [new WorkflowJob { Name = "a", Handler = WorkHandler.Name }, new WorkflowJob { Name = "b", Handler = WorkHandler.Name, DependsOn = [new WorkflowDependency("a")] }],
        }, ct);
        await fixture.Sdk.WaitForWorkflowAsync(submitted.Id, TimeSpan.FromSeconds(60), ct);
        var delivery = await FinishedDeliveryAsync(submitted.Id.Value, ct);

        Assert.Equal(("workflow.succeeded", WebhookDeliveryState.Delivered, "workflow"), (delivery.Event, delivery.State, delivery.SubjectKind));
        var call = Assert.Single(_receiver.Calls, c => c.Delivery == delivery.Id);
        Assert.True(WebhookReceiverExample.IsGenuine(RestApiFixture.WebhookSecret, call.Signature, call.Body, DateTimeOffset.UtcNow));
        using var body = JsonDocument.Parse(call.Body);
        var workflow = body.RootElement.GetProperty("workflow");
        Assert.Equal((submitted.Id.Value, "succeeded"), (workflow.GetProperty("id").GetGuid(), workflow.GetProperty("state").GetString()));
        Assert.Equal(2, workflow.GetProperty("counts").GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task EventFilter_SkipsOtherEnds()
    {
        var ct = Bounded();
        var request = new JobRequest
        {
            Handler = WorkHandler.Name,
            Limits = new JobLimits { MaxAttempts = 1 },
            Webhook = new WebhookRequest { Url = _receiver.Url("ok"), Events = [WebhookEvent.Failed] },
        };
        var id = (await fixture.Sdk.SubmitManyAsync([request], ct))[0].Id;
        Assert.Equal(JobState.Succeeded, (await fixture.Sdk.WaitForFinalAsync(id, TimeSpan.FromSeconds(60), ct))!.State);

        Assert.Empty(await fixture.Sdk.ListWebhookDeliveriesAsync(new WebhookDeliveryFilter { SubjectId = id.Value }, ct));
    }

    [Theory]
    [InlineData("ftp://example.com/hook", "not an absolute http or https URL")]
    [InlineData("/relative/hook", "not an absolute http or https URL")]
    [InlineData("http://user:pw@example.com/hook", "user name or password")]
    [InlineData("", "must not be empty")]
    public async Task InvalidUrl_IsRefusedEverywhere_AndStoresNothing(string url, string message)
    {
        var ct = Bounded();
        var tenant = "hookbad-" + Guid.NewGuid().ToString("N")[..8];
        var job = new JobRequest { Handler = WorkHandler.Name, Tenant = tenant, Webhook = new WebhookRequest { Url = url } };

        var sdk = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Sdk.SubmitManyAsync([job], ct));
        Assert.Equal(SchedulerErrorCode.InvalidRequest, sdk.Code);
        Assert.Contains(message, sdk.Message, StringComparison.Ordinal);
        var workflow = await Assert.ThrowsAsync<SchedulerException>(() => fixture.Sdk.SubmitWorkflowAsync(new WorkflowDefinition
        {
            Tenant = tenant,
            Webhook = new WebhookRequest { Url = url },
            Jobs = [new WorkflowJob { Name = "a", Handler = WorkHandler.Name }],
        }, ct));
        Assert.Contains(message, workflow.Message, StringComparison.Ordinal);

        using var http = fixture.As(ApiRole.Submitter);
        var rest = await http.PostJsonAsync("/api/v1/jobs", new { handler = WorkHandler.Name, tenant, webhook = new { url } });
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        Assert.Contains(message, (await rest.ReadJsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var tooLong = await http.PostJsonAsync("/api/v1/jobs", new { handler = WorkHandler.Name, tenant, webhook = new { url = "https://example.com/" + new string('a', 2100) } });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);

        var cli = await CliAsync(ct, "submit", "--webhook", url.Length == 0 ? " " : url, "--tenant", tenant, "--", "/bin/true");
        Assert.Equal(ExitCodes.Usage, cli.ExitCode);

        Assert.Empty(await fixture.Sdk.ListAsync(new JobFilter { Tenant = tenant }, ct));
    }

    [Fact]
    public async Task DeliveryRecord_IsReadableThroughSdkAndRest_WithinTheTenant()
    {
        var ct = Bounded();
        var (id, delivery) = await RunJobAsync(_receiver.Url("flaky"), tenant: "hookread", ct: ct);

        Assert.Equal(delivery, await fixture.Sdk.GetWebhookDeliveryAsync(delivery.Id, ct));
        Assert.Contains(await fixture.Sdk.ListWebhookDeliveriesAsync(new WebhookDeliveryFilter { State = WebhookDeliveryState.Delivered, Tenant = "hookread" }, ct), d => d.Id == delivery.Id);

        using var viewer = fixture.As(ApiRole.Viewer, "hookread");
        var one = await (await viewer.GetAsync($"/api/v1/webhooks/deliveries/{delivery.Id}", ct)).ReadJsonAsync();
        Assert.Equal(("delivered", 3), (one.GetProperty("state").GetString(), one.GetProperty("attempts").GetInt32()));
        var page = await (await viewer.GetAsync($"/api/v1/webhooks/deliveries?subject={id}", ct)).ReadJsonAsync();
        Assert.Equal(delivery.Id, Assert.Single(page.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.GetAsync("/api/v1/webhooks/deliveries?state=lost", ct)).StatusCode);
        using var stranger = fixture.As(ApiRole.Viewer, "stranger");
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/v1/webhooks/deliveries/{delivery.Id}", ct)).StatusCode);
        Assert.Empty((await (await stranger.GetAsync($"/api/v1/webhooks/deliveries?subject={id}", ct)).ReadJsonAsync()).GetProperty("items").EnumerateArray());
    }

    private async Task<Scheduler.Tests.EndToEnd.CliRun> CliAsync(CancellationToken ct, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var separator = Array.IndexOf(args, "--");
        string[] gateway = ["--gateway", $"127.0.0.1:{fixture.GatewayPort}", "--connect-timeout", "20s"];
        string[] full = separator < 0 ? [.. args, .. gateway] : [.. args[..separator], .. gateway, .. args[separator..]];
        var exitCode = await CliApp.RunAsync(full, stdout, stderr, ct).WaitAsync(ct);
        return new Scheduler.Tests.EndToEnd.CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>
/// A webhook receiver on a loopback port. Paths: <c>/ok/*</c> answers 204; <c>/flaky/*</c> answers 500 to the first two
/// calls of a delivery, then 200; <c>/broken/*</c> always 500; <c>/silent/*</c> never answers.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Call(string Mode, string? Delivery, string? Event, string? Attempt, string? Signature, byte[] Body);

    private readonly ConcurrentQueue<Call> _calls = new();
    private WebApplication? _app;
    private string _base = "";

    public IReadOnlyList<Call> Calls => [.. _calls];

    public string Url(string mode) => $"{_base}/{mode}/{Guid.NewGuid():N}";

    public async Task StartAsync()
    {
        _base = $"http://127.0.0.1:{ServerProcess.FreeLoopbackPort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(_base);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/{mode}/{key}", async (HttpContext http, string mode) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var call = new Call(mode, http.Request.Headers[WebhookHeaders.Delivery], http.Request.Headers[WebhookHeaders.Event],
                http.Request.Headers[WebhookHeaders.Attempt], http.Request.Headers[WebhookHeaders.Signature], buffer.ToArray());
            _calls.Enqueue(call);
            switch (mode)
            {
                case "ok":
                    return Results.NoContent();
                case "flaky":
                    return _calls.Count(c => c.Delivery == call.Delivery) <= 2 ? Results.StatusCode(500) : Results.Ok();
                case "silent":
                    await Task.Delay(Timeout.Infinite, http.RequestAborted);
                    return Results.Ok();
                default:
                    return Results.StatusCode(500);
            }
        });
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
