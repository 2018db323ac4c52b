using System.CommandLine;
using System.Globalization;

namespace Scheduler.Cli.Commands;

/// <summary><c>breaker list|reset</c>: circuit breakers per handler and concurrency key (docs/protection.md).</summary>
internal static class BreakerCommand
{
    public static Command Create(CliContext cli) => new("breaker",
        "Circuit breakers (configured under Scheduler:Breakers): list their states and counts, or reset one (it closes " +
        "and its held jobs go back to their queues).")
    {
        List(cli),
        Reset(cli),
    };

    private static Command List(CliContext cli)
    {
        var list = new Command("list", "List the configured breakers: state, failures in a row, failures in the window, until when open, why.");
        cli.SetAction(list, (_, connection, _) => Task.FromResult<ClientCommand>(async (client, ct) =>
        {
            var breakers = await client.ListBreakersAsync(ct);
            if (connection.Json)
            {
                Output.WriteJson(cli.Out, breakers);
                return ExitCodes.Ok;
            }
            Output.WriteTable(cli.Out, ["TARGET", "STATE", "IN A ROW", "WINDOW", "UNTIL", "REASON"],
                [.. breakers.Select(b => (IReadOnlyList<string>)
                [
                    b.Target, State(b), b.ConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
                    $"{b.WindowFailures}/{b.WindowOutcomes}", Output.Time(b.OpenUntil), b.State == BreakerState.Closed ? "" : b.Reason ?? "",
                ])]);
            return ExitCodes.Ok;
        }));
        return list;
    }

    private static Command Reset(CliContext cli)
    {
        var target = new Argument<string>("target") { Description = $"The breaker: {BreakerTargets.TargetRule}, e.g. handler:monk." };
        var reset = new Command("reset", "Close a breaker and forget its counts; the jobs it held go back to their queues.") { target };
        cli.SetAction(reset, (parse, connection, _) =>
        {
            var name = parse.GetValue(target);
            if (BreakerTargets.Problem(name) is { } problem)
                throw new UsageException(problem);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var status = await client.ResetBreakerAsync(name!, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, status);
                else
                    cli.Out.WriteLine($"breaker {status.Target}: {State(status)}");
                return ExitCodes.Ok;
            });
        });
        return reset;
    }

    private static string State(BreakerStatus status) => status.State switch
    {
        BreakerState.Open => "open",
        BreakerState.HalfOpen => $"half-open (trial {status.Trial})",
        _ => "closed",
    };
}
