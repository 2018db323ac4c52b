using System.CommandLine;
using System.Globalization;

namespace Scheduler.Cli.Commands;

/// <summary><c>gate pause|resume|drop|list</c>: gates by handler, queue, tenant or workflow (docs/protection.md).</summary>
internal static class GateCommand
{
    public static Command Create(CliContext cli) => new("gate",
        "Gates: pause the jobs of a handler, queue, tenant or workflow across the cluster (they stay queued, hold no " +
        "worker slot and say which gate holds them), resume them in their order, or drop (cancel) the queued ones.")
    {
        Pause(cli),
        Resume(cli),
        Drop(cli),
        List(cli),
    };

    private static Argument<string> TargetArgument() =>
        new("target") { Description = $"What the gate covers: {GateTargets.TargetRule}, e.g. queue:reports." };

    private static Option<string> ReasonOption(string description) => new("--reason") { Description = description, HelpName = "text" };

    private static string ParseTarget(string? target) =>
        GateTargets.Problem(target) is { } problem ? throw new UsageException(problem) : target!;

    private static string? ParseReason(string? reason) =>
        reason is { Length: > CancelCommand.MaxReasonLength } ? throw new UsageException($"--reason is {reason.Length} characters; the limit is {CancelCommand.MaxReasonLength}") : reason;

    private static Command Pause(CliContext cli)
    {
        var target = TargetArgument();
        var reason = ReasonOption("Why; shown in the gate's listing and the held jobs' status.");
        var pause = new Command("pause", "Pause a gate: the jobs it covers stay queued and do not start, on every silo, until it is resumed.") { target, reason };
        cli.SetAction(pause, (parse, connection, _) =>
        {
            var name = ParseTarget(parse.GetValue(target));
            var why = ParseReason(parse.GetValue(reason));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                Write(cli, connection.Json, await client.PauseGateAsync(name, why, ct));
                return ExitCodes.Ok;
            });
        });
        return pause;
    }

    private static Command Resume(CliContext cli)
    {
        var target = TargetArgument();
        var resume = new Command("resume", "Resume a gate: the jobs it held go back to their queues, in their order.") { target };
        cli.SetAction(resume, (parse, connection, _) =>
        {
            var name = ParseTarget(parse.GetValue(target));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                Write(cli, connection.Json, await client.ResumeGateAsync(name, ct));
                return ExitCodes.Ok;
            });
        });
        return resume;
    }

    private static Command Drop(CliContext cli)
    {
        var target = TargetArgument();
        var reason = ReasonOption("Why; recorded as each cancelled job's last error.");
        var drop = new Command("drop", "Cancel every queued job the target covers (running jobs go on). A paused gate stays paused.") { target, reason };
        cli.SetAction(drop, (parse, connection, _) =>
        {
            var name = ParseTarget(parse.GetValue(target));
            var why = ParseReason(parse.GetValue(reason));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var dropped = await client.DropGateAsync(name, why, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Target = name, Dropped = dropped });
                else
                    cli.Out.WriteLine($"dropped {dropped} queued job{(dropped == 1 ? "" : "s")} of {name}");
                return ExitCodes.Ok;
            });
        });
        return drop;
    }

    private static Command List(CliContext cli)
    {
        var list = new Command("list", "List the paused gates: target, since when, why, and jobs held.");
        cli.SetAction(list, (_, connection, _) => Task.FromResult<ClientCommand>(async (client, ct) =>
        {
            var gates = await client.ListGatesAsync(ct);
            if (connection.Json)
            {
                Output.WriteJson(cli.Out, gates);
                return ExitCodes.Ok;
            }
            Output.WriteTable(cli.Out, ["TARGET", "SINCE", "HELD", "REASON"],
                [.. gates.Select(g => (IReadOnlyList<string>)[g.Target, Output.Time(g.Since), g.Held.ToString(CultureInfo.InvariantCulture), g.Reason ?? ""])]);
            return ExitCodes.Ok;
        }));
        return list;
    }

    private static void Write(CliContext cli, bool json, GateStatus status)
    {
        if (json)
            Output.WriteJson(cli.Out, status);
        else
            cli.Out.WriteLine(status.Paused
                ? $"gate {status.Target}: paused since {Output.Time(status.Since)}{(status.Reason is { } why ? $" ({why})" : "")}"
                : $"gate {status.Target}: open");
    }
}
