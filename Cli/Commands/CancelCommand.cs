using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>cancel &lt;job-id&gt; [--reason TEXT]</c></summary>
internal static class CancelCommand
{
    public const int MaxReasonLength = 1000;

    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var reason = new Option<string>("--reason") { Description = "Why; recorded as the job's last error.", HelpName = "text" };
        var cancel = new Command("cancel",
            "Cancel a job. A queued job (also one waiting for a retry) is cancelled at once. A running job is asked to stop: " +
            "its silo hears it at the attempt's next lease renewal (within a quarter of the lease period), cancels the " +
            "handler's token (a command's processes are killed), and the job ends Cancelled unless the attempt succeeds first. " +
            "Exit code 1 if the job has already finished or is unknown.") { id, reason };

        cli.SetAction(cancel, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            var why = parse.GetValue(reason);
            if (why is { Length: > MaxReasonLength })
                throw new UsageException($"--reason is {why.Length} characters; the limit is {MaxReasonLength}");

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var outcome = await client.CancelAsync(jobId, why, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = jobId, Outcome = outcome });
                else if (outcome == CancelOutcome.Cancelled)
                    cli.Out.WriteLine($"cancelled {jobId}");
                else if (outcome == CancelOutcome.Requested)
                    cli.Out.WriteLine($"cancel requested for {jobId}: its running attempt is told to stop; it ends Cancelled unless it succeeds first");
                return outcome switch
                {
                    CancelOutcome.Cancelled => ExitCodes.Ok,
                    CancelOutcome.AlreadyFinal => throw new CommandFailedException($"job {jobId} has already finished; nothing to cancel"),
                    CancelOutcome.Requested => ExitCodes.Ok,
                    CancelOutcome.NotFound => throw new CommandFailedException($"job {jobId} not found"),
                    _ => throw new CommandFailedException($"job {jobId}: unexpected answer {outcome}"),
                };
            });
        });
        return cancel;
    }
}
