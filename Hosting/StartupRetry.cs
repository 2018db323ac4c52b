using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Scheduler.Hosting;

/// <summary>How long a starting silo waits for PostgreSQL and Redis (set from <see cref="SchedulerHostingOptions.StartupTimeout"/>).</summary>
public sealed class SchedulerStartupOptions
{
    /// <summary>Give up when the dependencies are still unreachable after this long from the silo's start. Default 5 minutes.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>A dependency of the silo (PostgreSQL or Redis) stayed unreachable for the whole start-up timeout.</summary>
public sealed class SchedulerStartupException(string message, Exception? inner) : InvalidOperationException(message, inner);

/// <summary>
/// The moment a starting silo gives up waiting for its dependencies: one deadline for all of them, fixed when the
/// silo is built (so waiting for Redis and then for PostgreSQL does not add up to twice the timeout).
/// </summary>
internal sealed class StartupDeadline
{
    private readonly long _started;

    public StartupDeadline(IOptions<SchedulerStartupOptions> options, TimeProvider? timeProvider = null)
    {
        TimeProvider = timeProvider ?? TimeProvider.System;
        Timeout = options.Value.Timeout;
        _started = TimeProvider.GetTimestamp();
    }

    public TimeProvider TimeProvider { get; }

    public TimeSpan Timeout { get; }

    public TimeSpan Remaining => Timeout - TimeProvider.GetElapsedTime(_started);
}

/// <summary>
/// Retries a start-up step while its dependency is unreachable: exponential backoff from
/// <see cref="InitialDelay"/> to <see cref="MaxDelay"/>, one log line per failure naming what is missing and the
/// next delay, and a <see cref="SchedulerStartupException"/> once the deadline passes. Each attempt is bounded by
/// the time left, so a connection that hangs cannot hold the start beyond the deadline.
/// </summary>
internal static partial class StartupRetry
{
    public static readonly TimeSpan InitialDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinAttemptTime = TimeSpan.FromSeconds(1);

    /// <param name="dependency">What is waited for, e.g. "PostgreSQL".</param>
    /// <param name="endpoint">Where it is expected, for the log: host:port, never credentials.</param>
    /// <param name="isTransient">True for failures that mean "not there yet" (refused, timed out, starting up).</param>
    /// <param name="describe">A one-line, credential-free description of a failure.</param>
    public static async Task<T> RunAsync<T>(
        string dependency,
        string endpoint,
        Func<CancellationToken, Task<T>> attempt,
        Func<Exception, bool> isTransient,
        Func<Exception, string> describe,
        StartupDeadline deadline,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var delay = InitialDelay;
        for (var tries = 1; ; tries++)
        {
            var remaining = deadline.Remaining;
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // The last attempt, at the deadline, still gets a moment, so the error reported is a real one.
            bounded.CancelAfter(remaining > MinAttemptTime ? remaining : MinAttemptTime);
            Exception failure;
            try
            {
                var result = await attempt(bounded.Token).ConfigureAwait(false);
                if (tries > 1)
                    LogReached(logger, dependency, endpoint, tries);
                return result;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new TimeoutException($"no answer before the start-up deadline ({e.GetType().Name})", e);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && isTransient(e))
            {
                failure = e;
            }

            remaining = deadline.Remaining;
            if (remaining <= TimeSpan.Zero)
            {
                throw new SchedulerStartupException(
                    $"{dependency} at {endpoint} was not reachable within {Format(deadline.Timeout)} (Scheduler:StartupTimeout); " +
                    $"gave up after {tries} attempt(s). Last error: {describe(failure)}", failure);
            }
            var wait = delay < remaining ? delay : remaining;
            LogWaiting(logger, dependency, endpoint, describe(failure), Format(wait), Format(remaining));
            await Task.Delay(wait, deadline.TimeProvider, cancellationToken).ConfigureAwait(false);
            delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
        }
    }

    /// <summary>The first line of an exception's message, and of its innermost cause when that says more.</summary>
    public static string Describe(Exception e)
    {
        var inner = e.GetBaseException();
        var text = inner == e || e.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? e.Message
            : $"{e.Message} ({inner.Message})";
        var line = text.Split('\n', 2)[0].Trim();
        return $"{e.GetType().Name}: {line}";
    }

    private static string Format(TimeSpan span) =>
        span >= TimeSpan.FromMinutes(1) ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "{Dependency} at {Endpoint} is not reachable ({Error}); retrying in {Delay} (gives up in {Remaining}, Scheduler:StartupTimeout)")]
    private static partial void LogWaiting(ILogger logger, string dependency, string endpoint, string error, string delay, string remaining);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Dependency} at {Endpoint} reached after {Attempts} attempts")]
    private static partial void LogReached(ILogger logger, string dependency, string endpoint, int attempts);
}
