using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>history &lt;job-id&gt;</c></summary>
internal static class HistoryCommand
{
    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var history = new Command("history", "Print every transition of a job, oldest first: time, state, attempt, silo and reason. " +
            "--json: one JSON object per transition.") { id };

        cli.SetAction(history, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var transitions = await client.GetHistoryAsync(jobId, ct);
                if (transitions.Count == 0)
                    throw new CommandFailedException($"job {jobId} not found");
                foreach (var t in transitions)
                {
                    if (connection.Json)
                        Output.WriteJson(cli.Out, t, Output.JsonLines);
                    else
                        cli.Out.WriteLine(Output.Transition(t));
                }
                return ExitCodes.Ok;
            });
        });
        return history;
    }
}
