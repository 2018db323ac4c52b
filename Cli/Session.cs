using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scheduler.Client;

namespace Scheduler.Cli;

/// <summary>
/// Connects to the scheduler for one command: builds a host with the SDK, starts it (which connects), runs the
/// command, stops it. Turns every failure into a message on stderr and an exit code.
/// </summary>
internal static class Session
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(Connection connection, TextWriter stderr,
        Func<ISchedulerClient, CancellationToken, Task<int>> command, CancellationToken cancellationToken)
    {
        IHost host;
        try
        {
            host = Build(connection, stderr);
        }
        catch (OptionsValidationException e)
        {
            return Report(stderr, ExitCodes.Usage, string.Join("; ", e.Failures));
        }
        catch (Exception e) when (e is SocketException or SchedulerException)
        {
            return Report(stderr, ExitCodes.Unavailable, $"cannot resolve the gateway address ({string.Join(", ", connection.Gateways)}): {e.Message}");
        }

        using (host)
        {
            try
            {
                try
                {
                    await host.StartAsync(cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw Find<SchedulerException>(e) ?? new SchedulerException(SchedulerErrorCode.Unavailable,
                        $"cannot reach the scheduler at {string.Join(", ", connection.Gateways)}: {e.Message}", e);
                }
                try
                {
                    return await command(host.Services.GetRequiredService<ISchedulerClient>(), cancellationToken);
                }
                finally
                {
                    using var stopping = new CancellationTokenSource(StopTimeout);
                    await host.StopAsync(stopping.Token);
                }
            }
            catch (OverloadedException e)
            {
                return Report(stderr, ExitCodes.Overloaded, $"{e.Message} ({e.Code}, retry after {e.RetryAfter.TotalSeconds:0} s)");
            }
            catch (SchedulerException e) when (e.Code == SchedulerErrorCode.Unavailable)
            {
                return Report(stderr, ExitCodes.Unavailable, e.Message);
            }
            catch (SchedulerException e)
            {
                return Report(stderr, ExitCodes.Failed, $"{e.Message} ({e.Code})");
            }
            catch (CommandFailedException e)
            {
                return Report(stderr, ExitCodes.Failed, e.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Report(stderr, ExitCodes.Interrupted, "interrupted");
            }
        }
    }

    public static int Report(TextWriter stderr, int exitCode, string message)
    {
        stderr.WriteLine($"error: {message}");
        return exitCode;
    }

    private static IHost Build(Connection connection, TextWriter stderr)
    {
        // No appsettings.json or environment configuration: the CLI is configured by its command line only.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ApplicationName = "scheduler" });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Orleans warns on every failed connection attempt; the CLI reports the outcome once, itself.
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        // A failed start is reported once, by Session, with the reason.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Logging.AddProvider(new TextWriterLoggerProvider(stderr));
        builder.Services.AddSchedulerClient(o =>
        {
            o.Gateways = connection.Gateways;
            o.ConnectTimeout = connection.ConnectTimeout;
            o.AuditActor = $"cli:{Environment.UserName}@{Environment.MachineName}";
        });
        return builder.Build();
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
            if (e is AggregateException aggregate)
                return aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(x => x is not null);
        }
        return null;
    }

    /// <summary>Writes log entries (warnings and up, as filtered above) to the CLI's stderr.</summary>
    private sealed class TextWriterLoggerProvider(TextWriter writer) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(writer, categoryName);

        public void Dispose() { }

        private sealed class Logger(TextWriter writer, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = $"[{logLevel.ToString().ToLowerInvariant()}] {category}: {formatter(state, exception)}";
                lock (writer)
                    writer.WriteLine(line);
            }
        }
    }
}
