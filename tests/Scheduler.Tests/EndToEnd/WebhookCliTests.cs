using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using Scheduler.Tests.Rest;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// <c>submit --webhook</c> and <c>webhooks list|show</c> against the real silo host of the CLI tests, which has no
/// webhook secret configured: the call is not sent unsigned, and the record says why.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class WebhookCliTests(SiloHostFixture fixture) : IAsyncLifetime
{
    private readonly WebhookReceiver _receiver = new();

    public Task InitializeAsync() => _receiver.StartAsync();

    public Task DisposeAsync() => _receiver.DisposeAsync().AsTask();

    [Fact]
    public async Task WebhookWithoutSecret_FailsVisibly_AndTheCliShowsTheRecord()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var submitted = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "submit", "--webhook", _receiver.Url("ok"), "--wait", "--", "/bin/true");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        var id = EndToEnd.SubmittedId(submitted);

        string deliveryId;
        while (true)
        {
            var listed = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "webhooks", "list", "--for", id.ToString(), "--state", "failed");
            Assert.True(listed.ExitCode == 0, listed.ToString());
            var row = listed.Out.Split('\n').FirstOrDefault(l => l.StartsWith("job:", StringComparison.Ordinal));
            if (row is not null)
            {
                deliveryId = row.Split(' ', 2)[0];
                break;
            }
            await Task.Delay(100, cts.Token);
        }

        var shown = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "webhooks", "show", deliveryId);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("job.succeeded", shown.Out, StringComparison.Ordinal);
        Assert.Contains("state      failed", shown.Out, StringComparison.Ordinal);
        Assert.Contains("no webhook secret is configured", shown.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(_receiver.Calls, c => c.Delivery == deliveryId);
        var missing = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "webhooks", "show", "job:nothing:0");
        Assert.Equal(Scheduler.Cli.ExitCodes.Failed, missing.ExitCode);
    }

    [Fact]
    public async Task CliControlAction_IsAuditedAsTheCliUser()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var submitted = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "submit", "--in", "1h", "--", "/bin/true");
        var id = EndToEnd.SubmittedId(submitted);
        var cancel = await EndToEnd.CliAsync(fixture.Settings, cts.Token, "cancel", id.ToString(), "--reason", "audited");
        Assert.True(cancel.ExitCode == 0, cancel.ToString());

        using var host = await EndToEnd.StartClientAsync(fixture.Settings, cts.Token);
        var audit = await host.Services.GetRequiredService<ISchedulerClient>().ListAuditAsync(limit: 1000, cancellationToken: cts.Token);
        var entry = Assert.Single(audit, e => e.Action == "job.cancel" && e.Target == id.ToString());
        Assert.Equal($"cli:{Environment.UserName}@{Environment.MachineName}", entry.Actor);
        Assert.Contains("audited", entry.Detail, StringComparison.Ordinal);
    }
}
