using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>logs &lt;job-id&gt; [--after N]</c></summary>
internal static class LogsCommand
{
    private const int PageSize = 1000;

    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var after = new Option<long>("--after")
        {
            Description = "Only lines with a sequence number above N (to continue where an earlier call stopped). Default 0: all.",
            HelpName = "N",
        };
        var logs = new Command("logs", "Print a job's log: its command's stdout and stderr and the scheduler's notes, oldest first. " +
            "Text: \"[stdout] line\"; --json: one JSON object per line.") { id, after };

        cli.SetAction(logs, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            var from = parse.GetValue(after);
            if (from < 0)
                throw new UsageException($"--after {from} must be 0 or more");

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (await client.GetStatusAsync(jobId, ct) is null)
                    throw new CommandFailedException($"job {jobId} not found");
                var sequence = from;
                while (true)
                {
                    var page = await client.GetLogAsync(jobId, sequence, PageSize, ct);
                    foreach (var line in page)
                    {
                        if (connection.Json)
                            Output.WriteJson(cli.Out, line, Output.JsonLines);
                        else
                            cli.Out.WriteLine($"[{line.Stream.ToString().ToLowerInvariant()}] {line.Text}");
                        sequence = Math.Max(sequence, line.Sequence);
                    }
                    if (page.Count < PageSize)
                        return ExitCodes.Ok;
                }
            });
        });
        return logs;
    }
}
