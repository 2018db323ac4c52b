using System.CommandLine;
using System.Globalization;
using Scheduler.Client;

namespace Scheduler.Cli.Commands;

/// <summary>
/// <c>dlq list|show|requeue|purge</c>: the dead-letter queue, i.e. the jobs that ended Failed (a fatal outcome, or
/// their last attempt failed).
/// </summary>
internal static class DeadLetterCommand
{
    /// <summary>Most ids one requeue or purge command line takes.</summary>
    public const int MaxIds = 10_000;

    public static Command Create(CliContext cli) => new("dlq",
        "The dead-letter queue: jobs that failed for good (a fatal outcome, or their last attempt failed). " +
        "List them, show one, requeue them with fresh attempts, or purge them (job, history and log are deleted).")
    {
        List(cli),
        Show(cli),
        Requeue(cli),
        Purge(cli),
    };

    /// <summary>The options that select dead letters, shared by list, requeue --all and purge.</summary>
    private sealed class Selection
    {
        public Option<string> Queue { get; } = new("--queue", "-q") { Description = "Only jobs of this queue.", HelpName = "name" };
        public Option<string> Tenant { get; } = new("--tenant") { Description = "Only jobs of this tenant.", HelpName = "name" };
        public Option<string> Handler { get; } = new("--handler") { Description = "Only jobs for this handler.", HelpName = "name" };
        public Option<string> OlderThan { get; } = new("--older-than")
        {
            Description = $"Only jobs that failed longer ago than this: {Duration.Help}.",
            HelpName = "duration",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Queue);
            command.Options.Add(Tenant);
            command.Options.Add(Handler);
            command.Options.Add(OlderThan);
        }

        public bool AnyGiven(ParseResult parse) =>
            parse.GetValue(Queue) is not null || parse.GetValue(Tenant) is not null || parse.GetValue(Handler) is not null || parse.GetValue(OlderThan) is not null;

        public DeadLetterFilter Read(ParseResult parse, int limit) => new()
        {
            Queue = Name("--queue", parse.GetValue(Queue)),
            Tenant = Name("--tenant", parse.GetValue(Tenant)),
            Handler = Name("--handler", parse.GetValue(Handler)),
            FailedBefore = parse.GetValue(OlderThan) is { } text ? DateTimeOffset.UtcNow - Duration.ParsePositive("--older-than", text) : null,
            Limit = limit is >= 1 and <= JobFilter.MaxLimit
                ? limit
                : throw new UsageException($"--limit {limit} is out of range: use 1 to {JobFilter.MaxLimit}"),
        };
    }

    private static Command List(CliContext cli)
    {
        var selection = new Selection();
        var limit = new Option<int>("--limit", "-n") { Description = $"Most jobs shown, most recently failed first: 1 to {JobFilter.MaxLimit}.", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "List dead-lettered jobs, most recently failed first: id, reason (Fatal or AttemptsExhausted), when, attempts and last error.");
        selection.AddTo(list);
        list.Options.Add(limit);

        cli.SetAction(list, (parse, connection, _) =>
        {
            var filter = selection.Read(parse, parse.GetValue(limit));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var letters = await client.ListDeadLettersAsync(filter, ct);
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, letters);
                    return ExitCodes.Ok;
                }
                Output.WriteTable(cli.Out,
                    ["ID", "REASON", "FAILED", "ATTEMPT", "QUEUE", "HANDLER", "LAST ERROR"],
                    [.. letters.Select(d => (IReadOnlyList<string>)
                    [
                        d.Id.ToString(), d.Reason.ToString(), Output.Time(d.FailedAt), d.Attempt.ToString(CultureInfo.InvariantCulture),
                        d.Queue, d.Handler, Shorten(d.LastError ?? "-", 100),
                    ])]);
                return ExitCodes.Ok;
            });
        });
        return list;
    }

    private static Command Show(CliContext cli)
    {
        var id = CliContext.JobIdArgument();
        var show = new Command("show", "Show a dead-lettered job: its status, why it failed, its last error and every transition. " +
            "Exit code 1 if the job does not exist or is not dead-lettered.") { id };

        cli.SetAction(show, (parse, connection, _) =>
        {
            var jobId = CliContext.ParseId(parse.GetValue(id));
            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var report = await client.InspectDeadLetterAsync(jobId, ct) ?? throw new CommandFailedException($"job {jobId} not found");
                if (!report.IsDeadLettered)
                    throw new CommandFailedException($"job {jobId} is not in the dead-letter queue: it is {report.Status.State}");
                if (connection.Json)
                {
                    Output.WriteJson(cli.Out, new { report.Status, report.History });
                    return ExitCodes.Ok;
                }
                Output.WriteStatus(cli.Out, report.Status);
                cli.Out.WriteLine("history:");
                foreach (var transition in report.History)
                    cli.Out.WriteLine("  " + Output.Transition(transition));
                return ExitCodes.Ok;
            });
        });
        return show;
    }

    private static Command Requeue(CliContext cli)
    {
        var ids = new Argument<string[]>("job-id") { Description = "Ids of the jobs to requeue.", Arity = ArgumentArity.ZeroOrMore };
        var attempts = new Option<int?>("--attempts")
        {
            Description = $"Attempts each job gets now, 1 to {JobLimits.MaxAllowedAttempts}. Default: as many as it was first given.",
            HelpName = "N",
        };
        var all = new Option<bool>("--all") { Description = "Requeue every dead-lettered job the filters select (at most --limit), instead of ids." };
        var limit = new Option<int>("--limit", "-n") { Description = $"With --all, most jobs requeued: 1 to {JobFilter.MaxLimit}.", DefaultValueFactory = _ => 1000 };
        var selection = new Selection();
        var requeue = new Command("requeue",
            "Put dead-lettered jobs back in their queues with fresh attempts (their attempt numbers keep counting up). " +
            "Exit code 1 if any job was not found or not dead-lettered.") { ids, attempts, all, limit };
        selection.AddTo(requeue);

        cli.SetAction(requeue, (parse, connection, _) =>
        {
            var given = ReadIds(parse.GetValue(ids), parse.GetValue(all), selection.AnyGiven(parse), "requeue");
            var budget = parse.GetValue(attempts);
            if (budget is < 1 or > JobLimits.MaxAllowedAttempts)
                throw new UsageException($"--attempts {budget} is out of range: use 1 to {JobLimits.MaxAllowedAttempts}");
            var filter = given is null ? selection.Read(parse, parse.GetValue(limit)) : null;

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                var targets = given ?? [.. (await client.ListDeadLettersAsync(filter!, ct)).Select(d => d.Id)];
                var results = targets.Count == 0 ? [] : await client.RequeueAsync(targets, budget, ct);
                return Report(cli, connection, results.Select(r => (r.Id, r.Outcome == RequeueOutcome.Requeued, r.Outcome.ToString())).ToList(),
                    "requeued", results.Select(r => new { r.Id, r.Outcome }));
            });
        });
        return requeue;
    }

    private static Command Purge(CliContext cli)
    {
        var ids = new Argument<string[]>("job-id") { Description = "Ids of the jobs to purge.", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Purge every dead-lettered job the filters select (all of them without filters)." };
        var selection = new Selection();
        var purge = new Command("purge",
            "Delete dead-lettered jobs for good: the job, its history and its log; it then reads back as not found. " +
            "Give ids, or --older-than, or --all (each with optional --queue, --tenant, --handler). " +
            "Exit code 1 if any job given by id was not found or not dead-lettered.") { ids, all };
        selection.AddTo(purge);

        cli.SetAction(purge, (parse, connection, _) =>
        {
            var olderThan = parse.GetValue(selection.OlderThan) is not null;
            var given = ReadIds(parse.GetValue(ids), parse.GetValue(all) || olderThan, selection.AnyGiven(parse), "purge");
            var filter = given is null ? selection.Read(parse, SchedulerPurgeBatch) : null;

            return Task.FromResult<ClientCommand>(async (client, ct) =>
            {
                if (given is null)
                {
                    var purged = await client.PurgeDeadLettersAsync(filter!, ct);
                    if (connection.Json)
                        Output.WriteJson(cli.Out, new { Purged = purged });
                    else
                        cli.Out.WriteLine($"purged {purged} job{(purged == 1 ? "" : "s")}");
                    return ExitCodes.Ok;
                }
                var results = await client.PurgeDeadLettersAsync(given, ct);
                return Report(cli, connection, results.Select(r => (r.Id, r.Outcome == PurgeOutcome.Purged, r.Outcome.ToString())).ToList(),
                    "purged", results.Select(r => new { r.Id, r.Outcome }));
            });
        });
        return purge;
    }

    private const int SchedulerPurgeBatch = 100;

    /// <summary>The ids given (duplicates dropped), or null when the command runs on a filter (--all / --older-than).</summary>
    private static List<JobId>? ReadIds(string[]? texts, bool all, bool filtersGiven, string verb)
    {
        texts ??= [];
        if (texts.Length > 0 && all)
            throw new UsageException($"give job ids or a selection (--all, --older-than), not both");
        if (texts.Length > 0 && filtersGiven)
            throw new UsageException("--queue, --tenant, --handler and --older-than select jobs instead of ids; give one or the other");
        if (texts.Length == 0)
        {
            if (!all)
                throw new UsageException($"nothing to {verb}: give job ids, or --all" + (verb == "purge" ? " or --older-than" : ""));
            return null;
        }
        if (texts.Length > MaxIds)
            throw new UsageException($"{texts.Length} job ids; the limit is {MaxIds}");
        return [.. texts.Select(CliContext.ParseId).Distinct()];
    }

    private static int Report<T>(CliContext cli, Connection connection, List<(JobId Id, bool Done, string Outcome)> results, string verb, IEnumerable<T> json)
    {
        if (connection.Json)
            Output.WriteJson(cli.Out, json.ToList());
        var failed = 0;
        foreach (var (id, done, outcome) in results)
        {
            if (done)
            {
                if (!connection.Json)
                    cli.Out.WriteLine($"{verb} {id}");
            }
            else
            {
                failed++;
                cli.Error.WriteLine(outcome == nameof(RequeueOutcome.NotFound)
                    ? $"error: job {id} not found"
                    : $"error: job {id} is not in the dead-letter queue");
            }
        }
        if (!connection.Json && results.Count == 0)
            cli.Out.WriteLine($"nothing to {verb[..^1]}: no dead-lettered job matches");
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static string? Name(string option, string? value) =>
        value is null || RequestValidation.IsName(value)
            ? value
            : throw new UsageException($"{option} '{value}' is not a valid name ({RequestValidation.NameRule})");

    private static string Shorten(string text, int max)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }
}
