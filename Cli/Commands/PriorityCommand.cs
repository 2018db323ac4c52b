using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>priority &lt;job-id&gt; &lt;priority&gt;</c></summary>
internal static class PriorityCommand
{
    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var value = PriorityArgument();
        var priority = new Command("priority",
            "Give a waiting job another priority; its queue reorders at once. " +
            "Exit code 1 if the job is running, has finished, or is unknown.") { id, value };

        cli.SetAction(priority, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            var level = Read(parse, value);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                await client.ChangePriorityAsync(jobId, level, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = jobId, Priority = level });
                else
                    cli.Out.WriteLine($"{jobId} waits with priority {level}");
                return ExitCodes.Ok;
            });
        });
        return priority;
    }

    public static Argument<int> PriorityArgument() =>
        new("priority") { Description = $"The new priority: {JobPriority.Min} (least urgent) to {JobPriority.Max} (most urgent)." };

    /// <summary>The priority given, checked before anything is sent.</summary>
    public static int Read(ParseResult parse, Argument<int> argument)
    {
        var level = parse.GetValue(argument);
        return JobPriority.IsValid(level) ? level : throw new UsageException(JobPriority.RangeProblem(level));
    }
}
