using System.CommandLine;
using System.Globalization;
using Scheduler.Client;

namespace Scheduler.Cli;

/// <summary>Options every command takes: where the scheduler is, how long to try to reach it, and the output format.</summary>
internal sealed class CommonOptions
{
    public const string GatewayVariable = "SCHEDULER_GATEWAY";

    private static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    public Option<string[]> Gateway { get; } = new("--gateway", "-g")
    {
        Description = $"A silo gateway as host:port; repeat for several. Default: ${GatewayVariable} (comma-separated), " +
                      $"else {string.Join(", ", new SchedulerClientOptions().Gateways)}.",
        HelpName = "host:port",
        Recursive = true,
    };

    public Option<string> ConnectTimeout { get; } = new("--connect-timeout")
    {
        Description = $"How long to try to reach a gateway before giving up (exit code 3): {Duration.Help}. Default: 5s.",
        HelpName = "duration",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print machine-readable JSON instead of text.",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Gateway);
        root.Options.Add(ConnectTimeout);
        root.Options.Add(Json);
    }

    /// <summary>Reads and checks the connection settings; throws <see cref="UsageException"/> naming a bad value.</summary>
    public Connection Read(ParseResult parse, Func<string, string?> environment)
    {
        var given = parse.GetValue(Gateway) ?? [];
        var fromVariable = environment(GatewayVariable);
        List<string> gateways;
        string source;
        if (given.Length > 0)
            (gateways, source) = ([.. given], "--gateway");
        else if (!string.IsNullOrWhiteSpace(fromVariable))
            (gateways, source) = ([.. fromVariable.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)], GatewayVariable);
        else
            (gateways, source) = (new SchedulerClientOptions().Gateways, "default");

        foreach (var gateway in gateways)
        {
            if (!IsEndpoint(gateway))
                throw new UsageException($"gateway '{gateway}' (from {source}) is not host:port with a port from 1 to 65535");
        }

        var timeout = parse.GetValue(ConnectTimeout) is { } text
            ? Duration.ParsePositive("--connect-timeout", text)
            : DefaultConnectTimeout;
        return new Connection(gateways, timeout, parse.GetValue(Json));
    }

    private static bool IsEndpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
            return false;
        var host = text[..colon].Trim('[', ']');
        return host.Length > 0 && !host.Any(char.IsWhiteSpace)
            && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535;
    }
}

internal sealed record Connection(List<string> Gateways, TimeSpan ConnectTimeout, bool Json);
