using Microsoft.Extensions.DependencyInjection;
using Scheduler.Cli;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Gates and breakers on the embedded store across a silo restart, driven through the CLI (which uses the default
/// cluster and service id; each test has a data directory and ports of its own).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ProtectionRestartTests
{
    private static async Task<T> WithClientAsync<T>(SiloSettings settings, Func<ISchedulerClient, Task<T>> work, CancellationToken cancellationToken)
    {
        var host = await EndToEnd.StartClientAsync(settings, cancellationToken);
        try
        {
            return await work(host.Services.GetRequiredService<ISchedulerClient>());
        }
        finally
        {
            await EndToEnd.StopClientAsync(host);
        }
    }

    private static Task<SubmitResult> EchoAsync(ISchedulerClient client, string text, CancellationToken cancellationToken, string tenant = JobRequest.DefaultTenant) =>
        client.SubmitCommandAsync(new CommandJob { Executable = "/bin/echo", Arguments = [text] },
            request => request with { Tenant = tenant }, cancellationToken);

    [Fact]
    public async Task PausedGate_StaysPausedAndKeepsHoldingItsJobs_AcrossARestart_UntilResumed()
    {
        using var cts = EndToEnd.Timeout(120);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data"), clusterId: "scheduler", serviceId: "scheduler");

        JobId held;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var bad = await EndToEnd.CliAsync(settings, cts.Token, "gate", "pause", "queue");
            Assert.True(bad.ExitCode == ExitCodes.Usage, bad.ToString());
            Assert.Contains("is not valid", bad.Error);
            var unknown = await EndToEnd.CliAsync(settings, cts.Token, "gate", "pause", "queue:nope");
            Assert.True(unknown.ExitCode == ExitCodes.Failed, unknown.ToString());
            Assert.Contains("unknown queue 'nope'", unknown.Error);

            var pause = await EndToEnd.CliAsync(settings, cts.Token, "gate", "pause", "queue:default", "--reason", "disk full");
            Assert.True(pause.ExitCode == ExitCodes.Ok, pause.ToString());
            Assert.Contains("gate queue:default: paused since", pause.Out);
            held = await WithClientAsync(settings, async client =>
            {
                var id = (await EchoAsync(client, "held", cts.Token)).Id;
                var status = await EndToEnd.WaitForStatusAsync(client, id, s => s.WaitingFor is not null, cts.Token);
                Assert.StartsWith("held by gate queue:default", status.WaitingFor);
                return id;
            }, cts.Token);
            await silo.StopAsync(cts.Token);
        }

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var list = await EndToEnd.CliAsync(settings, cts.Token, "gate", "list");
            Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
            Assert.Contains("queue:default", list.Out);
            Assert.Contains("disk full", list.Out);
            await WithClientAsync(settings, async client =>
            {
                // Its shard reloads it after the restart, offers it, and the gate holds it again.
                var status = await EndToEnd.WaitForStatusAsync(client, held, s => s.WaitingFor is not null, cts.Token);
                Assert.Equal(JobState.Queued, status.State);
                Assert.StartsWith("held by gate queue:default", status.WaitingFor);
                return 0;
            }, cts.Token);

            var resume = await EndToEnd.CliAsync(settings, cts.Token, "gate", "resume", "queue:default");
            Assert.True(resume.ExitCode == ExitCodes.Ok, resume.ToString());
            await WithClientAsync(settings, async client =>
            {
                var done = await client.WaitForFinalAsync(held, TimeSpan.FromSeconds(30), cts.Token);
                Assert.Equal(JobState.Succeeded, done?.State);
                return 0;
            }, cts.Token);
            Assert.DoesNotContain("queue:default", (await EndToEnd.CliAsync(settings, cts.Token, "gate", "list")).Out);
        }
    }

    [Fact]
    public async Task OpenBreaker_StaysOpenAcrossARestart_AndResetReleasesItsJobs()
    {
        using var cts = EndToEnd.Timeout(120);
        using var dir = new TempDirectory();
        var settings = SiloSettings.Create(Path.Combine(dir.Path, "data"), clusterId: "scheduler", serviceId: "scheduler") with
        {
            Overrides = new Dictionary<string, string?>
            {
                ["Scheduler:Breakers:Handlers:command:ConsecutiveFailures"] = "2",
                ["Scheduler:Breakers:Handlers:command:CoolDown"] = "01:00:00",
                ["Scheduler:Backpressure:Tenants:capped"] = "1",
                ["Scheduler:Backpressure:RefreshInterval"] = "00:00:00.200",
            },
        };

        JobId held;
        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            held = await WithClientAsync(settings, async client =>
            {
                for (var i = 0; i < 2; i++)
                {
                    var failing = await client.SubmitCommandAsync(new CommandJob { Executable = "/bin/false" },
                        request => request with { Limits = new JobLimits { MaxAttempts = 1 } }, cts.Token);
                    Assert.Equal(JobState.Failed, (await client.WaitForFinalAsync(failing.Id, TimeSpan.FromSeconds(30), cts.Token))?.State);
                }
                while ((await client.GetBreakerAsync("handler:command", cts.Token)).State != BreakerState.Open)
                    await Task.Delay(50, cts.Token);
                var id = (await EchoAsync(client, "after the failures", cts.Token, tenant: "capped")).Id;
                var status = await EndToEnd.WaitForStatusAsync(client, id, s => s.WaitingFor is not null, cts.Token);
                Assert.StartsWith("held by breaker handler:command: open until", status.WaitingFor);
                return id;
            }, cts.Token);

            // The held job is the tenant's one queued job: its bound is reached, and the CLI says so.
            await Task.Delay(500, cts.Token);
            var over = await EndToEnd.CliAsync(settings, cts.Token, "submit", "--tenant", "capped", "--", "/bin/echo", "one too many");
            Assert.True(over.ExitCode == ExitCodes.Overloaded, over.ToString());
            Assert.Contains("overloaded: tenant 'capped' has 1 queued jobs and a bound of 1", over.Error);
            await silo.StopAsync(cts.Token);
        }

        await using (var silo = await SiloProcessHost.StartAsync(settings, cts.Token))
        {
            var list = await EndToEnd.CliAsync(settings, cts.Token, "breaker", "list");
            Assert.True(list.ExitCode == ExitCodes.Ok, list.ToString());
            Assert.Contains("handler:command", list.Out);
            Assert.Contains("open", list.Out);
            Assert.Contains("2 failures in a row", list.Out);
            await WithClientAsync(settings, async client =>
            {
                var status = await EndToEnd.WaitForStatusAsync(client, held, s => s.WaitingFor is not null, cts.Token);
                Assert.StartsWith("held by breaker handler:command", status.WaitingFor);
                return 0;
            }, cts.Token);

            var unknown = await EndToEnd.CliAsync(settings, cts.Token, "breaker", "reset", "handler:noop");
            Assert.True(unknown.ExitCode == ExitCodes.Failed, unknown.ToString());
            Assert.Contains("no breaker is configured for handler:noop", unknown.Error);
            var reset = await EndToEnd.CliAsync(settings, cts.Token, "breaker", "reset", "handler:command");
            Assert.True(reset.ExitCode == ExitCodes.Ok, reset.ToString());
            Assert.Contains("breaker handler:command: closed", reset.Out);
            await WithClientAsync(settings, async client =>
            {
                var done = await client.WaitForFinalAsync(held, TimeSpan.FromSeconds(30), cts.Token);
                Assert.Equal(JobState.Succeeded, done?.State);
                Assert.Equal(1, done!.Attempt);
                return 0;
            }, cts.Token);
        }
    }
}
