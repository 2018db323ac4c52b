using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>status &lt;job-id&gt; [--wait [--timeout DURATION]]</c></summary>
internal static class StatusCommand
{
    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait for the job's final state; exit code 0 only if it succeeded." };
        var timeout = new Option<string>("--timeout") { Description = $"With --wait, give up after this long (exit code 1): {Duration.Help}. Default: no limit.", HelpName = "duration" };
        var status = new Command("status", "Show a job: state, handler, queue, priority, tenant, attempts, times (and when it is due, while it waits: a delayed job, or a retry), silo and last error. Exit code 1 if it is unknown.") { id, wait, timeout };

        cli.SetAction(status, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            var waitFor = parse.GetValue(wait);
            var timeoutText = parse.GetValue(timeout);
            if (timeoutText is not null && !waitFor)
                throw new UsageException("--timeout needs --wait");
            var limit = timeoutText is null ? Waiting.Forever : Duration.ParsePositive("--timeout", timeoutText);

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (waitFor)
                    return await Waiting.WaitAndReportAsync(client, jobId, limit, cli, connection.Json, null, ct);
                var job = await client.GetStatusAsync(jobId, ct) ?? throw new CommandFailedException($"job {jobId} not found");
                if (connection.Json)
                    Output.WriteJson(cli.Out, job);
                else
                    Output.WriteStatus(cli.Out, job);
                return ExitCodes.Ok;
            });
        });
        return status;
    }
}
