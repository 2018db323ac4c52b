using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Scheduler.Hosting;

/// <summary>
/// Waits, with backoff, until the membership Redis answers PING: at <see cref="Stage"/>, before anything of
/// Orleans' runtime starts (Redis membership initialises its table much later, at RuntimeGrainServices, and
/// would otherwise fail the start at its first refused connection).
/// </summary>
internal sealed partial class RedisStartupCheck(
    string connectionString,
    StartupDeadline deadline,
    ILogger<RedisStartupCheck> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Just before <see cref="ServiceLifecycleStage.RuntimeInitialize"/>, where the PostgreSQL schema is migrated.</summary>
    public const int Stage = ServiceLifecycleStage.RuntimeInitialize - 1;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RedisStartupCheck), Stage, WaitAsync);

    /// <summary>The Redis endpoints of a StackExchange.Redis configuration string, as host:port (no password).</summary>
    public static string Describe(ConfigurationOptions options) =>
        string.Join(",", options.EndPoints.Select(e => e switch
        {
            DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
            IPEndPoint ip => ip.ToString(),
            _ => e.ToString() ?? "?",
        }));

    private Task WaitAsync(CancellationToken cancellationToken)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.SetDefaultPorts();
        var endpoint = Describe(options);
        var password = options.Password;
        return StartupRetry.RunAsync("Redis", endpoint, PingAsync, IsTransient, Redact, deadline, logger, cancellationToken);

        async Task<bool> PingAsync(CancellationToken token)
        {
            // A plain TCP connect first: a refused port fails at once, where the multiplexer waits out its timeout.
            foreach (var target in options.EndPoints)
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(target, token).ConfigureAwait(false);
            }
            var attempt = options.Clone();
            attempt.AbortOnConnectFail = true;
            attempt.ConnectRetry = 1;
            var remaining = deadline.Remaining;
            attempt.ConnectTimeout = (int)Math.Clamp(remaining.TotalMilliseconds, 100, 5000);
            await using var connection = await ConnectionMultiplexer.ConnectAsync(attempt, TextWriter.Null).WaitAsync(token).ConfigureAwait(false);
            await connection.GetDatabase().PingAsync().WaitAsync(token).ConfigureAwait(false);
            return true;
        }

        string Redact(Exception e)
        {
            var text = StartupRetry.Describe(e);
            return string.IsNullOrEmpty(password) ? text : text.Replace(password, "*****", StringComparison.Ordinal);
        }
    }

    /// <summary>Refused, timed out or still loading; not a wrong password or a bad configuration string.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        RedisConnectionException c => c.FailureType is not (ConnectionFailureType.AuthenticationFailure or ConnectionFailureType.ProtocolFailure),
        RedisTimeoutException or TimeoutException or SocketException or IOException => true,
        RedisServerException s => s.Message.StartsWith("LOADING", StringComparison.Ordinal),
        _ => false,
    };
}
