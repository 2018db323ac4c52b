using System.CommandLine;

namespace Scheduler.Cli.Commands;

/// <summary><c>reschedule &lt;job-id&gt; --at TIME | --in DURATION | --now</c></summary>
internal static class RescheduleCommand
{
    public static Command Create(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var (at, inDelay, now) = Options("the job");
        var reschedule = new Command("reschedule",
            "Move a queued job's due time (a delayed job, or one waiting for a retry): it starts no earlier than the new time, " +
            "or as soon as possible with --now. Exit code 1 if the job is running, has finished, or is unknown.") { id, at, inDelay, now };

        cli.SetAction(reschedule, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            var due = Read(parse, at, inDelay, now);
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var outcome = await client.RescheduleAsync(jobId, due, ct);
                if (connection.Json)
                    Output.WriteJson(cli.Out, new { Id = jobId, NotBefore = due, Outcome = outcome });
                else if (outcome == RescheduleOutcome.Rescheduled)
                    cli.Out.WriteLine($"{jobId} is due {(due is { } t ? DueTime.Describe(t, DateTimeOffset.UtcNow) : "now")}");
                return outcome switch
                {
                    RescheduleOutcome.Rescheduled => ExitCodes.Ok,
                    RescheduleOutcome.Running => throw new CommandFailedException($"job {jobId} is running: it has started, and is left as it is"),
                    RescheduleOutcome.AlreadyFinal => throw new CommandFailedException($"job {jobId} has already finished; nothing to reschedule"),
                    RescheduleOutcome.NotFound => throw new CommandFailedException($"job {jobId} not found"),
                    _ => throw new CommandFailedException($"job {jobId}: unexpected answer {outcome}"),
                };
            });
        });
        return reschedule;
    }

    /// <summary>The options of a reschedule: exactly one of them is given.</summary>
    public static (Option<string> At, Option<string> In, Option<bool> Now) Options(string what) =>
        (DueTime.AtOption(what), DueTime.InOption(what), new Option<bool>("--now") { Description = $"Start {what} as soon as possible." });

    /// <summary>The new due time; null for --now.</summary>
    public static DateTimeOffset? Read(ParseResult parse, Option<string> at, Option<string> inDelay, Option<bool> now)
    {
        var atText = parse.GetValue(at);
        var inText = parse.GetValue(inDelay);
        var given = (atText is null ? 0 : 1) + (inText is null ? 0 : 1) + (parse.GetValue(now) ? 1 : 0);
        if (given != 1)
            throw new UsageException("give one of --at, --in or --now");
        return DueTime.Read(atText, inText, DateTimeOffset.UtcNow);
    }
}
