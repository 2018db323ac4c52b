using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scheduler.Cli;
using Scheduler.Client;
using Scheduler.Tests.Storage;

namespace Scheduler.Tests.EndToEnd;

/// <summary>One real silo host (embedded storage in a temp folder) shared by the tests of <see cref="EndToEndCollection"/>.</summary>
public sealed class SiloHostFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private SiloProcessHost? _host;

    internal SiloSettings Settings { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The CLI has no option for the cluster or service id: it always uses the SDK defaults ("scheduler"),
        // so the silo it talks to must too. Isolation comes from the unique loopback ports.
        Settings = SiloSettings.Create(Path.Combine(_dir.Path, "data"), clusterId: "scheduler", serviceId: "scheduler") with
        {
            MaxConcurrentJobs = 2,
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _host = await SiloProcessHost.StartAsync(Settings, cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<SiloHostFixture>
{
    public const string Name = "End to end: real silo host";
}

/// <summary>What one in-process CLI run printed and returned.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

internal static class EndToEnd
{
    /// <summary>Runs the CLI in process against <paramref name="settings"/>' gateway.</summary>
    public static async Task<CliRun> CliAsync(SiloSettings settings, CancellationToken cancellationToken, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        // --gateway is recursive: it may follow the command name; it must come before "--".
        var separator = Array.IndexOf(args, "--");
        string[] gateway = ["--gateway", settings.Gateway, "--connect-timeout", "20s"];
        string[] full = separator < 0
            ? [.. args, .. gateway]
            : [.. args[..separator], .. gateway, .. args[separator..]];
        var exitCode = await CliApp.RunAsync(full, stdout, stderr, cancellationToken).WaitAsync(cancellationToken);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The job id a successful submit printed on its first line.</summary>
    public static JobId SubmittedId(CliRun run)
    {
        var first = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        Assert.True(JobId.TryParse(first, out var id), $"no job id on the first line of:\n{run}");
        return id;
    }

    /// <summary>A started SDK host (AddSchedulerClient) connected to the silo's gateway.</summary>
    public static async Task<IHost> StartClientAsync(SiloSettings settings, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = [settings.Gateway];
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
            o.ConnectTimeout = TimeSpan.FromSeconds(20);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).WaitAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return host;
    }

    public static async Task StopClientAsync(IHost host)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await host.StopAsync(cts.Token);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the job's status; returns that status.</summary>
    public static async Task<JobStatus> WaitForStatusAsync(ISchedulerClient client, JobId id, Func<JobStatus, bool> condition,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = await client.GetStatusAsync(id, cancellationToken);
            if (status is not null && condition(status))
                return status;
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    public static CancellationTokenSource Timeout(int seconds) => new(TimeSpan.FromSeconds(seconds));
}
