using System.CommandLine;
using Scheduler.Cli.Commands;

namespace Scheduler.Cli;

/// <summary>
/// The <c>scheduler</c> command line: submit, workflow, status, list, cancel, logs, history, dlq, schedule, limits, keys. Runs in-process for tests:
/// everything is written to the given writers and the exit code is returned (see <see cref="ExitCodes"/>).
/// </summary>
public static class CliApp
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default) =>
        RunAsync(args, stdout, stderr, Environment.GetEnvironmentVariable, ct);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken)"/>, reading environment variables through <paramref name="environment"/>.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);

        var cli = new CliContext(stdout, stderr, environment, new CommonOptions());
        var root = CreateRootCommand(cli);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine($"Run '{CommandPath(parse)} --help' for usage.");
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // Ctrl+C is turned into ct by the caller (Program.cs); an in-process caller must not get signal handlers.
            ProcessTerminationTimeout = null,
        };
        return await parse.InvokeAsync(invocation, ct);
    }

    internal static RootCommand CreateRootCommand(CliContext cli)
    {
        var root = new RootCommand(
            "Submit, inspect and cancel jobs and workflows of a Scheduler cluster, and run them on schedules.\n\n" +
            "Exit codes: 0 ok; 1 refused by the scheduler, job not found, or (with --wait) the job did not succeed; " +
            "2 bad command line (nothing was sent); 3 scheduler unreachable.\n" +
            $"Durations: {Duration.Help} (a bare number is refused).")
        {
            SubmitCommand.Create(cli),
            WorkflowCommand.Create(cli),
            StatusCommand.Create(cli),
            ListCommand.Create(cli),
            CancelCommand.Create(cli),
            RescheduleCommand.Create(cli),
            PriorityCommand.Create(cli),
            LogsCommand.Create(cli),
            HistoryCommand.Create(cli),
            DeadLetterCommand.Create(cli),
            ScheduleCommand.Create(cli),
            LimitsCommand.Create(cli),
            GateCommand.Create(cli),
            BreakerCommand.Create(cli),
            KeysCommand.Create(cli),
            WebhooksCommand.Create(cli),
        };
        cli.Common.AddTo(root);
        return root;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(result.Command is RootCommand ? "scheduler" : result.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
